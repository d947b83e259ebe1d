// SPDX-License-Identifier: MIT
// The kernels API: the only kernels header that upper layers include. Weights are
// QuantizedTensor in any format; callers never branch on the format. Shapes follow the
// M/N/K naming: activations x [M, K], weight W [N, K] (row = output feature), output y [M, N].
// Entry points validate shapes once (throwing lowbit::Error); the per-format inner loops below
// them trust their inputs.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kernels/exec_context.h"
#include "kernels/kv_layer_cache.h"
#include "tensor/quantized_tensor.h"

namespace lowbit::kernels {

// y[M, N] = x[M, K] · W[N, K]^T (+ bias[N] when not null). W stays packed: tiles of rows are
// dequantized into per-task scratch and multiplied. Deterministic at any thread count.
void linear(const float* x, int64_t m, const QuantizedTensor& w, const float* bias, float* y,
            ExecContext& ctx);

// One weight of linear_shared_input: y = x · W^T (+ bias when not null).
struct LinearTarget {
  const QuantizedTensor* w = nullptr;
  const float* bias = nullptr;
  float* y = nullptr;
};

// One input through several weights (q/k/v; gate/up): the same bits as a linear call per
// target. With int8 activations and weights of one kind, the input is quantized once and every
// weight's row tasks run as one parallel job (one fork-join instead of one per weight).
void linear_shared_input(const float* x, int64_t m, std::span<const LinearTarget> targets,
                         ExecContext& ctx);

// Rows [row_begin, row_end) of W as f32 into out[(row_end - row_begin) * cols]. The scalar
// reference that defines every format's value.
void dequantize_rows(const QuantizedTensor& w, int64_t row_begin, int64_t row_end, float* out);
// Every row of `w` as f32, [rows, cols] row-major.
std::vector<float> dequantize_all(const QuantizedTensor& w);

// Row `token` of an embedding table in any format.
void embedding_lookup(const QuantizedTensor& table, int64_t token, float* out);

// y = x / sqrt(mean(x^2) + eps) * weight, one row of `dim`.
void rms_norm(const float* x, const float* weight, int64_t dim, float eps, float* y);

// Rotates `n_heads` heads of `head_dim` in place for position `pos`. inv_freq[head_dim / 2]
// holds the per-pair frequencies (already rope-scaled). interleaved: pairs (2i, 2i+1) as in
// llama2.c / GGUF; otherwise pairs (i, i + head_dim/2) as in HF transformers.
void rope(float* x, int64_t n_heads, int64_t head_dim, int64_t pos, const float* inv_freq,
          bool interleaved);

// In-place numerically stable softmax over n values.
void softmax(float* x, int64_t n);

// gate[i] = silu(gate[i]) * up[i].
void silu_mul(float* gate, const float* up, int64_t n);

// Causal attention of one query position over the first `n_keys` positions of a layer's KV
// cache (GQA: query head h reads kv head h / (n_heads / n_kv_heads)). q and out:
// [n_heads * head_dim]. The cache is read one block of tokens at a time (dequantized into
// per-task scratch). One task per kv head, so results do not depend on the thread count.
void attention(const float* q, const KvLayerCache& cache, int64_t n_keys, int64_t n_heads,
               int64_t n_kv_heads, int64_t head_dim, float* out, ExecContext& ctx);

// Causal attention for a run of `n` query positions start_pos .. start_pos + n - 1 at once
// (prefill): query row t sees cached positions 0 .. start_pos + t, which must all be in the
// cache. q and out: [n, n_heads * head_dim]. Per kv head and block of query rows, scores and
// the weighted sum are matrix products over blocks of cached tokens; each (kv head, row
// block) is one task, so the result does not depend on the thread count. Agrees with
// `attention` row by row up to f32 summation order.
void attention_prefill(const float* q, const KvLayerCache& cache, int64_t start_pos, int64_t n,
                       int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float* out,
                       ExecContext& ctx);

}  // namespace lowbit::kernels
