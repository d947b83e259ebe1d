// SPDX-License-Identifier: MIT
// LlamaModel: the forward pass of a Llama-family decoder over packed weights. forward() takes a
// run of tokens at consecutive positions (a whole prompt or window at once, or one token when
// decoding) and writes their next-token logits.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kernels/exec_context.h"
#include "model/block_forward.h"
#include "model/kv_cache.h"
#include "model/llama_config.h"
#include "model/llama_weights.h"

namespace lowbit::model {

class LlamaModel {
 public:
  LlamaModel(LlamaConfig config, LlamaWeights weights);

  const LlamaConfig& config() const { return config_; }
  const LlamaWeights& weights() const { return weights_; }

  // A KV cache for up to `max_positions` positions in `format` (f32 by default).
  KvCache make_cache(int64_t max_positions, const kernels::KvFormat& format = {}) const;

  // Which positions get logits: every one (perplexity) or the last (generation: the head is a
  // large share of a short prompt's work).
  enum class Logits { all, last };

  // Runs tokens[0..T) at positions start_pos..start_pos+T-1 (earlier positions must already
  // be in `cache`), and writes logits[T, vocab] (row t predicts the token after tokens[t]), or
  // with Logits::last only the last row, logits[vocab]. Throws on a token id outside the
  // vocabulary or a position beyond the cache. logits may be null (no head: only the cache and
  // the observer's view are wanted); `observer` sees every linear group's input rows
  // (model/block_forward.h).
  void forward(std::span<const int32_t> tokens, int64_t start_pos, KvCache& cache, float* logits,
               kernels::ExecContext& ctx, const LinearObserver* observer = nullptr,
               Logits which = Logits::all) const;

 private:
  LlamaConfig config_;
  LlamaWeights weights_;
  std::vector<float> inv_freq_;  // [head_dim / 2]
  // Activations, grown per call: the hidden states [T, dim] and the blocks' buffers.
  mutable std::vector<float> x_;
  mutable BlockScratch scratch_;
};

}  // namespace lowbit::model
