// SPDX-License-Identifier: MIT
// The keys and values of one layer in a KvFormat (layouts in kv_format.h and docs/FORMATS.md).
// It owns its storage, quantizes rows as they are written, and hands attention blocks of
// tokens as f32 rows: f32 storage is read in place, every other format is dequantized one
// block (at most block_tokens() tokens of one head) at a time into the caller's scratch, so a
// full-precision copy of the cache never exists.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/exec_context.h"
#include "kernels/kv_format.h"

namespace lowbit::kernels {

class KvLayerCache {
 public:
  // `layer` picks the calibrated fp8 scales of format.key_scales / value_scales.
  KvLayerCache(const KvFormat& format, int64_t layer, int64_t max_positions, int64_t n_kv_heads,
               int64_t head_dim);

  KvDtype dtype() const { return dtype_; }
  int64_t max_positions() const { return max_positions_; }
  int64_t n_kv_heads() const { return n_kv_heads_; }
  int64_t head_dim() const { return head_dim_; }
  int64_t kv_dim() const { return n_kv_heads_ * head_dim_; }
  int64_t length() const { return length_; }  // tokens stored

  // Stores n rows of keys and values (row r at keys + r * stride, kv_dim() values each) at
  // positions start_pos .. start_pos + n - 1; positions from start_pos on are replaced (a new
  // window or sequence starts at 0). start_pos must be <= length(); int4 (KIVI) also refuses
  // to rewrite inside its quantized groups unless start_pos is a multiple of the residual.
  void write(int64_t start_pos, int64_t n, const float* keys, const float* values, int64_t stride);

  // Largest block a read may ask for: 64 tokens, or the whole cache for f32 (read in place).
  int64_t block_tokens() const;
  // Keys of tokens [t0, t0 + n) (all < length(), n <= block_tokens()), channels [c0, c0 +
  // width) of the row, as n f32 rows; returns the first row and sets *ld to the row stride.
  // Points into the cache for f32, else into `scratch` (n * width floats). int8 and int4 read
  // whole heads only (c0 % head_dim == 0, width == head_dim). `isa` picks the row decoders;
  // every Isa reads the same values.
  const float* read_keys(int64_t t0, int64_t n, int64_t c0, int64_t width, float* scratch,
                         int64_t* ld, Isa isa) const;
  const float* read_values(int64_t t0, int64_t n, int64_t c0, int64_t width, float* scratch,
                           int64_t* ld, Isa isa) const;

  // Bytes allocated (equals kv_layer_bytes for the format and shape).
  int64_t bytes() const;
  // fp8: the scales in use (1 for other formats).
  float key_scale() const { return key_scale_; }
  float value_scale() const { return value_scale_; }

 private:
  enum class Side : uint8_t { keys, values };
  struct Storage {
    std::vector<float> f32;        // f32
    std::vector<uint16_t> halves;  // f16 / bf16
    std::vector<uint8_t> codes;    // int8 / int4 / fp8
    std::vector<uint16_t> params;  // f16 scales (int8) or (scale, min) pairs (int4)
    std::vector<uint16_t> window;  // int4 KIVI: f16 rows of the residual window
  };
  void store_row(Side side, int64_t pos, const float* row);
  void flush_window();
  const float* read(Side side, int64_t t0, int64_t n, int64_t c0, int64_t width, float* scratch,
                    int64_t* ld, Isa isa) const;
  const Storage& storage(Side side) const { return side == Side::keys ? keys_ : values_; }
  Storage& storage(Side side) { return side == Side::keys ? keys_ : values_; }

  KvDtype dtype_;
  int64_t max_positions_, n_kv_heads_, head_dim_;
  int64_t residual_ = 0;       // int4 KIVI window capacity
  int64_t length_ = 0;         // tokens stored
  int64_t quantized_end_ = 0;  // int4 KIVI: tokens before it are quantized, the rest in window
  float key_scale_ = 1.0f, value_scale_ = 1.0f;
  bool scales_fixed_ = false;  // fp8 calibrated
  Storage keys_, values_;
};

}  // namespace lowbit::kernels
