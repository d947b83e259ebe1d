// SPDX-License-Identifier: MIT
// KV cache: keys and values of every layer and position, in a KvFormat (f32, f16, bf16, int8,
// int4 KIVI, int4-naive, fp8 e4m3/e5m2; layouts in kernels/kv_format.h). It owns one
// kernels::KvLayerCache per layer; the model writes rows with write() and attention reads a
// layer through layer(), block by block, never as a full-precision copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/kv_format.h"
#include "kernels/kv_layer_cache.h"

namespace lowbit::model {

class KvCache {
 public:
  // An f32 cache of kv_dim values per position (calibration's one-block caches).
  KvCache(int64_t n_layers, int64_t max_positions, int64_t kv_dim);
  KvCache(int64_t n_layers, int64_t max_positions, int64_t n_kv_heads, int64_t head_dim,
          const kernels::KvFormat& format);

  int64_t n_layers() const { return static_cast<int64_t>(layers_.size()); }
  int64_t max_positions() const { return layers_.front().max_positions(); }
  int64_t kv_dim() const { return layers_.front().kv_dim(); }
  kernels::KvDtype dtype() const { return layers_.front().dtype(); }
  // Rows [n, kv_dim] (row stride `stride`) at positions start_pos .. start_pos + n - 1 of
  // `layer`; start_pos must not exceed what the layer holds (0 starts a new sequence).
  void write(int64_t layer, int64_t start_pos, int64_t n, const float* keys, const float* values,
             int64_t stride);
  const kernels::KvLayerCache& layer(int64_t layer) const;
  // Bytes allocated, scales included (kernels::kv_cache_bytes for the format and shape).
  size_t bytes() const;

 private:
  std::vector<kernels::KvLayerCache> layers_;
};

}  // namespace lowbit::model
