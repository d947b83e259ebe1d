// SPDX-License-Identifier: MIT
// The Llama forward pass, read top to bottom as kernel calls.
#include "model/llama_model.h"

#include <algorithm>

#include "kernels/kernels.h"
#include "model/block_forward.h"
#include "util/check.h"

namespace lowbit::model {

LlamaModel::LlamaModel(LlamaConfig config, LlamaWeights weights)
    : config_(std::move(config)),
      weights_(std::move(weights)),
      inv_freq_(config_.rope_inv_freq()) {}

KvCache LlamaModel::make_cache(int64_t max_positions, const kernels::KvFormat& format) const {
  return KvCache(config_.n_layers, max_positions, config_.n_kv_heads, config_.head_dim, format);
}

void LlamaModel::forward(std::span<const int32_t> tokens, int64_t start_pos, KvCache& cache,
                         float* logits, kernels::ExecContext& ctx, const LinearObserver* observer,
                         Logits which) const {
  const LlamaConfig& c = config_;
  const auto n = static_cast<int64_t>(tokens.size());
  LB_CHECK(n > 0, "forward: no tokens");
  LB_CHECK(start_pos >= 0 && start_pos + n <= cache.max_positions(), "forward: positions ",
           start_pos, "..", start_pos + n - 1, " exceed the context of ", cache.max_positions());
  if (static_cast<int64_t>(x_.size()) < n * c.dim) x_.resize(static_cast<size_t>(n * c.dim));
  scratch_.reserve(c, n);

  for (int64_t t = 0; t < n; ++t) {
    const int32_t token = tokens[static_cast<size_t>(t)];
    LB_CHECK_ARG(token >= 0 && token < c.vocab_size, "token id ", token,
                 " is outside the vocabulary of ", c.vocab_size);
    kernels::embedding_lookup(weights_.embed, token, &x_[t * c.dim]);
  }
  for (int64_t l = 0; l < c.n_layers; ++l)
    run_block(c, weights_.blocks[static_cast<size_t>(l)], inv_freq_, l, l, x_.data(), n, start_pos,
              cache, scratch_, ctx, observer);
  if (logits == nullptr) return;
  float* xn = scratch_.xn.data();
  const int64_t first = which == Logits::last ? n - 1 : 0;
  for (int64_t t = first; t < n; ++t)
    kernels::rms_norm(&x_[t * c.dim], weights_.final_norm.data(), c.dim,
                      static_cast<float>(c.norm_eps), &xn[(t - first) * c.dim]);
  kernels::linear(xn, n - first, weights_.lm_head, nullptr, logits, ctx);
}

}  // namespace lowbit::model
