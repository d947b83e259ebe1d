// SPDX-License-Identifier: MIT
// Causal multi-query attention for a run of positions as matrix products (prefill and
// perplexity windows): one head per task, query rows in blocks so that masked keys past the
// block's last position are never multiplied.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/kernels.h"
#include "numerics/linalg.h"
#include "util/check.h"

namespace lowbit::kernels {
namespace {

// Query rows per block: large enough for efficient sgemm, small enough that the causal
// triangle wastes little.
constexpr int64_t kRowBlock = 64;

}  // namespace

void attention_prefill(const float* q, const float* keys, const float* values, int64_t start_pos,
                       int64_t n, int64_t kv_stride, int64_t n_heads, int64_t n_kv_heads,
                       int64_t head_dim, float* out, ExecContext& ctx) {
  LB_CHECK(q != nullptr && keys != nullptr && values != nullptr && out != nullptr,
           "attention_prefill: null pointer");
  LB_CHECK(n > 0 && start_pos >= 0, "attention_prefill: bad positions ", start_pos, " + ", n);
  LB_CHECK(n_heads > 0 && n_kv_heads > 0 && head_dim > 0 && n_heads % n_kv_heads == 0,
           "attention_prefill: ", n_heads, " query heads cannot share ", n_kv_heads,
           " kv heads of ", head_dim);
  LB_CHECK(kv_stride >= n_kv_heads * head_dim, "attention_prefill: kv_stride ", kv_stride,
           " is shorter than ", n_kv_heads, " heads of ", head_dim);
  const int64_t group = n_heads / n_kv_heads;
  const int64_t q_stride = n_heads * head_dim;
  const auto scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));
  ctx.pool->parallel_for(0, n_heads, 1, [&](int64_t h0, int64_t h1) {
    std::vector<float> scores(static_cast<size_t>(std::min(n, kRowBlock) * (start_pos + n)));
    for (int64_t h = h0; h < h1; ++h) {
      const float* k_head = keys + (h / group) * head_dim;
      const float* v_head = values + (h / group) * head_dim;
      for (int64_t t0 = 0; t0 < n; t0 += kRowBlock) {
        const int64_t rows = std::min(kRowBlock, n - t0);
        const int64_t n_keys = start_pos + t0 + rows;  // keys the block's last row sees
        // scores[rows, n_keys] = scale * Q[rows, d] · K[n_keys, d]^T
        sgemm(false, true, rows, n_keys, head_dim, scale, q + t0 * q_stride + h * head_dim,
              q_stride, k_head, kv_stride, 0.0f, scores.data(), n_keys);
        for (int64_t r = 0; r < rows; ++r) {
          float* row = scores.data() + r * n_keys;
          const int64_t visible = start_pos + t0 + r + 1;
          softmax(row, visible);
          std::fill(row + visible, row + n_keys, 0.0f);  // causal mask
        }
        // out[rows, d] = P[rows, n_keys] · V[n_keys, d]
        sgemm(false, false, rows, head_dim, n_keys, 1.0f, scores.data(), n_keys, v_head, kv_stride,
              0.0f, out + t0 * q_stride + h * head_dim, q_stride);
      }
    }
  });
}

}  // namespace lowbit::kernels
