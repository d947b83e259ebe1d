// SPDX-License-Identifier: MIT
// The Llama forward pass, read top to bottom as kernel calls.
#include "model/llama_model.h"

#include <algorithm>

#include "kernels/kernels.h"
#include "util/check.h"

namespace lowbit::model {

LlamaModel::LlamaModel(LlamaConfig config, LlamaWeights weights)
    : config_(std::move(config)),
      weights_(std::move(weights)),
      inv_freq_(config_.rope_inv_freq()) {}

KvCache LlamaModel::make_cache(int64_t max_positions) const {
  return KvCache(config_.n_layers, max_positions, config_.kv_dim());
}

namespace {

void add_bias(float* y, int64_t n, int64_t width, const std::vector<float>& bias) {
  if (bias.empty()) return;
  for (int64_t t = 0; t < n; ++t)
    for (int64_t i = 0; i < width; ++i) y[t * width + i] += bias[static_cast<size_t>(i)];
}

}  // namespace

void LlamaModel::attention_block(int64_t layer, int64_t n, int64_t start_pos, KvCache& cache,
                                 kernels::ExecContext& ctx) const {
  const LlamaConfig& c = config_;
  const BlockWeights& b = weights_.blocks[static_cast<size_t>(layer)];
  const int64_t dim = c.dim, qd = c.q_dim(), kvd = c.kv_dim();
  for (int64_t t = 0; t < n; ++t)
    kernels::rms_norm(&x_[t * dim], b.attn_norm.data(), dim, static_cast<float>(c.norm_eps),
                      &xn_[t * dim]);
  kernels::linear(xn_.data(), n, b.wq, nullptr, q_.data(), ctx);
  kernels::linear(xn_.data(), n, b.wk, nullptr, k_.data(), ctx);
  kernels::linear(xn_.data(), n, b.wv, nullptr, v_.data(), ctx);
  add_bias(q_.data(), n, qd, b.bq);
  add_bias(k_.data(), n, kvd, b.bk);
  add_bias(v_.data(), n, kvd, b.bv);
  for (int64_t t = 0; t < n; ++t) {
    kernels::rope(&q_[t * qd], c.n_heads, c.head_dim, start_pos + t, inv_freq_.data(),
                  c.rope_interleaved);
    kernels::rope(&k_[t * kvd], c.n_kv_heads, c.head_dim, start_pos + t, inv_freq_.data(),
                  c.rope_interleaved);
    cache.store(layer, start_pos + t, &k_[t * kvd], &v_[t * kvd]);
  }
  // Causal attention: position start_pos + t sees keys 0..start_pos + t. A run of positions
  // goes through matrix products; a single decode step through the per-row kernel.
  const float* keys = cache.keys(layer);
  const float* values = cache.values(layer);
  if (n == 1) {
    std::vector<float>& scores = scores_;
    scores.resize(static_cast<size_t>(start_pos + 1));
    kernels::attention(q_.data(), keys, values, start_pos + 1, kvd, c.n_heads, c.n_kv_heads,
                       c.head_dim, att_.data(), scores.data());
  } else {
    kernels::attention_prefill(q_.data(), keys, values, start_pos, n, kvd, c.n_heads, c.n_kv_heads,
                               c.head_dim, att_.data(), ctx);
  }
  kernels::linear(att_.data(), n, b.wo, nullptr, xn_.data(), ctx);
  for (int64_t i = 0; i < n * dim; ++i) x_[i] += xn_[i];
}

void LlamaModel::mlp_block(int64_t layer, int64_t n, kernels::ExecContext& ctx) const {
  const LlamaConfig& c = config_;
  const BlockWeights& b = weights_.blocks[static_cast<size_t>(layer)];
  const int64_t dim = c.dim;
  for (int64_t t = 0; t < n; ++t)
    kernels::rms_norm(&x_[t * dim], b.ffn_norm.data(), dim, static_cast<float>(c.norm_eps),
                      &xn_[t * dim]);
  kernels::linear(xn_.data(), n, b.w_gate, nullptr, gate_.data(), ctx);
  kernels::linear(xn_.data(), n, b.w_up, nullptr, up_.data(), ctx);
  kernels::silu_mul(gate_.data(), up_.data(), n * c.hidden_dim);
  kernels::linear(gate_.data(), n, b.w_down, nullptr, xn_.data(), ctx);
  for (int64_t i = 0; i < n * dim; ++i) x_[i] += xn_[i];
}

void LlamaModel::forward(std::span<const int32_t> tokens, int64_t start_pos, KvCache& cache,
                         float* logits, kernels::ExecContext& ctx) const {
  const LlamaConfig& c = config_;
  const auto n = static_cast<int64_t>(tokens.size());
  LB_CHECK(n > 0, "forward: no tokens");
  LB_CHECK(start_pos >= 0 && start_pos + n <= cache.max_positions(), "forward: positions ",
           start_pos, "..", start_pos + n - 1, " exceed the context of ", cache.max_positions());
  auto grow = [](std::vector<float>& v, int64_t size) {
    if (static_cast<int64_t>(v.size()) < size) v.resize(static_cast<size_t>(size));
  };
  grow(x_, n * c.dim);
  grow(xn_, n * c.dim);
  grow(q_, n * c.q_dim());
  grow(k_, n * c.kv_dim());
  grow(v_, n * c.kv_dim());
  grow(att_, n * c.q_dim());
  grow(gate_, n * c.hidden_dim);
  grow(up_, n * c.hidden_dim);

  for (int64_t t = 0; t < n; ++t) {
    const int32_t token = tokens[static_cast<size_t>(t)];
    LB_CHECK_ARG(token >= 0 && token < c.vocab_size, "token id ", token,
                 " is outside the vocabulary of ", c.vocab_size);
    kernels::embedding_lookup(weights_.embed, token, &x_[t * c.dim]);
  }
  for (int64_t l = 0; l < c.n_layers; ++l) {
    attention_block(l, n, start_pos, cache, ctx);
    mlp_block(l, n, ctx);
  }
  for (int64_t t = 0; t < n; ++t)
    kernels::rms_norm(&x_[t * c.dim], weights_.final_norm.data(), c.dim,
                      static_cast<float>(c.norm_eps), &xn_[t * c.dim]);
  kernels::linear(xn_.data(), n, weights_.lm_head, nullptr, logits, ctx);
}

}  // namespace lowbit::model
