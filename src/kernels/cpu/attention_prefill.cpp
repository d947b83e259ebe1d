// SPDX-License-Identifier: MIT
// Causal multi-query attention for a run of positions as matrix products (prefill and
// perplexity windows): one task per (kv head, block of query rows), serving the kv head's
// whole group of query heads, so a block of cached tokens is dequantized once per task. Query
// rows go in blocks so that masked keys past the block's last position are never multiplied.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/attention_shape.h"
#include "kernels/kernels.h"
#include "numerics/linalg.h"
#include "util/check.h"

namespace lowbit::kernels {

namespace {

// Query rows per block: large enough for efficient sgemm, small enough that the causal
// triangle wastes little.
constexpr int64_t kRowBlock = 64;

}  // namespace

void attention_prefill(const float* q, const KvLayerCache& cache, int64_t start_pos, int64_t n,
                       int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float* out,
                       ExecContext& ctx) {
  LB_CHECK(q != nullptr && out != nullptr, "attention_prefill: null pointer");
  LB_CHECK(n > 0 && start_pos >= 0, "attention_prefill: bad positions ", start_pos, " + ", n);
  cpu::check_attention_shape(cache, start_pos + n, n_heads, n_kv_heads, head_dim,
                             "attention_prefill");
  const int64_t group = n_heads / n_kv_heads;
  const int64_t q_stride = n_heads * head_dim;
  const int64_t row_blocks = (n + kRowBlock - 1) / kRowBlock;
  const int64_t block = std::min(cache.block_tokens(), start_pos + n);
  const auto scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));
  ctx.pool->parallel_for(0, n_kv_heads * row_blocks, 1, [&](int64_t i0, int64_t i1) {
    const int64_t max_rows = std::min(n, kRowBlock);
    std::vector<float> scores(static_cast<size_t>(group * max_rows * (start_pos + n)));
    std::vector<float> scratch(
        cache.dtype() == KvDtype::f32 ? 0 : static_cast<size_t>(block * head_dim));
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t g = i / row_blocks, t0 = (i % row_blocks) * kRowBlock;
      const int64_t c0 = g * head_dim;
      const int64_t rows = std::min(kRowBlock, n - t0);
      const int64_t n_keys = start_pos + t0 + rows;  // keys the block's last row sees
      const auto head_scores = [&](int64_t j) { return scores.data() + j * rows * n_keys; };
      // scores_j[rows, n_keys] = scale * Q_j[rows, d] · K[n_keys, d]^T, block by block.
      for (int64_t k0 = 0; k0 < n_keys; k0 += block) {
        const int64_t nb = std::min(block, n_keys - k0);
        int64_t ld = 0;
        const float* k = cache.read_keys(k0, nb, c0, head_dim, scratch.data(), &ld, ctx.isa);
        for (int64_t j = 0; j < group; ++j)
          sgemm(false, true, rows, nb, head_dim, scale,
                q + t0 * q_stride + (g * group + j) * head_dim, q_stride, k, ld, 0.0f,
                head_scores(j) + k0, n_keys);
      }
      for (int64_t j = 0; j < group; ++j)
        for (int64_t r = 0; r < rows; ++r) {
          float* row = head_scores(j) + r * n_keys;
          const int64_t visible = start_pos + t0 + r + 1;
          softmax(row, visible);
          std::fill(row + visible, row + n_keys, 0.0f);  // causal mask
        }
      // out_j[rows, d] = P_j[rows, n_keys] · V[n_keys, d], accumulated block by block.
      for (int64_t k0 = 0; k0 < n_keys; k0 += block) {
        const int64_t nb = std::min(block, n_keys - k0);
        int64_t ld = 0;
        const float* v = cache.read_values(k0, nb, c0, head_dim, scratch.data(), &ld, ctx.isa);
        for (int64_t j = 0; j < group; ++j)
          sgemm(false, false, rows, head_dim, nb, 1.0f, head_scores(j) + k0, n_keys, v, ld,
                k0 == 0 ? 0.0f : 1.0f, out + t0 * q_stride + (g * group + j) * head_dim, q_stride);
      }
    }
  });
}

}  // namespace lowbit::kernels
