// SPDX-License-Identifier: MIT
// The decoder block, read top to bottom as kernel calls.
#include "model/block_forward.h"

#include "kernels/kernels.h"
#include "util/check.h"

namespace lowbit::model {

const char* linear_input_name(LinearInput input) {
  switch (input) {
    case LinearInput::qkv:
      return "qkv";
    case LinearInput::o:
      return "o";
    case LinearInput::gate_up:
      return "gate_up";
    case LinearInput::down:
      return "down";
  }
  return "?";
}

LinearInput linear_input_of(int index) {
  static constexpr LinearInput kInputs[7] = {
      LinearInput::qkv,     LinearInput::qkv,     LinearInput::qkv, LinearInput::o,
      LinearInput::gate_up, LinearInput::gate_up, LinearInput::down};
  LB_CHECK(index >= 0 && index < 7, "linear index ", index, " out of range");
  return kInputs[index];
}

void BlockScratch::reserve(const LlamaConfig& c, int64_t n) {
  auto grow = [](std::vector<float>& buffer, int64_t size) {
    if (static_cast<int64_t>(buffer.size()) < size) buffer.resize(static_cast<size_t>(size));
  };
  grow(xn, n * c.dim);
  grow(q, n * c.q_dim());
  grow(k, n * c.kv_dim());
  grow(v, n * c.kv_dim());
  grow(att, n * c.q_dim());
  grow(gate, n * c.hidden_dim);
  grow(up, n * c.hidden_dim);
}

namespace {

void add_bias(float* y, int64_t n, int64_t width, const std::vector<float>& bias) {
  if (bias.empty()) return;
  for (int64_t t = 0; t < n; ++t)
    for (int64_t i = 0; i < width; ++i) y[t * width + i] += bias[static_cast<size_t>(i)];
}

}  // namespace

void run_block(const LlamaConfig& c, const BlockWeights& b, const std::vector<float>& inv_freq,
               int64_t layer, int64_t cache_layer, float* x, int64_t n, int64_t start_pos,
               KvCache& cache, BlockScratch& s, kernels::ExecContext& ctx,
               const LinearObserver* observer) {
  s.reserve(c, n);
  const int64_t dim = c.dim, qd = c.q_dim(), kvd = c.kv_dim();
  const auto observe = [&](LinearInput input, const float* in, int64_t cols) {
    if (observer != nullptr && *observer) (*observer)(layer, input, in, n, cols);
  };
  const auto eps = static_cast<float>(c.norm_eps);

  // Attention.
  for (int64_t t = 0; t < n; ++t)
    kernels::rms_norm(&x[t * dim], b.attn_norm.data(), dim, eps, &s.xn[t * dim]);
  observe(LinearInput::qkv, s.xn.data(), dim);
  const kernels::LinearTarget qkv[] = {
      {&b.wq, nullptr, s.q.data()}, {&b.wk, nullptr, s.k.data()}, {&b.wv, nullptr, s.v.data()}};
  kernels::linear_shared_input(s.xn.data(), n, qkv, ctx);
  add_bias(s.q.data(), n, qd, b.bq);
  add_bias(s.k.data(), n, kvd, b.bk);
  add_bias(s.v.data(), n, kvd, b.bv);
  for (int64_t t = 0; t < n; ++t) {
    kernels::rope(&s.q[t * qd], c.n_heads, c.head_dim, start_pos + t, inv_freq.data(),
                  c.rope_interleaved);
    kernels::rope(&s.k[t * kvd], c.n_kv_heads, c.head_dim, start_pos + t, inv_freq.data(),
                  c.rope_interleaved);
  }
  cache.write(cache_layer, start_pos, n, s.k.data(), s.v.data(), kvd);
  // Causal attention: position start_pos + t sees keys 0..start_pos + t. A run of positions
  // goes through matrix products; a single decode step through the per-row kernel.
  const kernels::KvLayerCache& kv = cache.layer(cache_layer);
  if (n == 1) {
    kernels::attention(s.q.data(), kv, start_pos + 1, c.n_heads, c.n_kv_heads, c.head_dim,
                       s.att.data(), ctx);
  } else {
    kernels::attention_prefill(s.q.data(), kv, start_pos, n, c.n_heads, c.n_kv_heads, c.head_dim,
                               s.att.data(), ctx);
  }
  observe(LinearInput::o, s.att.data(), qd);
  kernels::linear(s.att.data(), n, b.wo, nullptr, s.xn.data(), ctx);
  for (int64_t i = 0; i < n * dim; ++i) x[i] += s.xn[i];

  // MLP.
  for (int64_t t = 0; t < n; ++t)
    kernels::rms_norm(&x[t * dim], b.ffn_norm.data(), dim, eps, &s.xn[t * dim]);
  observe(LinearInput::gate_up, s.xn.data(), dim);
  const kernels::LinearTarget gate_up[] = {{&b.w_gate, nullptr, s.gate.data()},
                                           {&b.w_up, nullptr, s.up.data()}};
  kernels::linear_shared_input(s.xn.data(), n, gate_up, ctx);
  kernels::silu_mul(s.gate.data(), s.up.data(), n * c.hidden_dim);
  observe(LinearInput::down, s.gate.data(), c.hidden_dim);
  kernels::linear(s.gate.data(), n, b.w_down, nullptr, s.xn.data(), ctx);
  for (int64_t i = 0; i < n * dim; ++i) x[i] += s.xn[i];
}

}  // namespace lowbit::model
