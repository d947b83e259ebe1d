// SPDX-License-Identifier: MIT
// Attention of one query position (a decode step) over a layer's KV cache: one task per kv
// head, which serves every query head of its group, so each block of keys and values is
// dequantized once per step.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/attention_shape.h"
#include "kernels/cpu/dot_lanes.h"
#include "kernels/kernels.h"
#include "util/check.h"

namespace lowbit::kernels {

void cpu::check_attention_shape(const KvLayerCache& cache, int64_t n_keys, int64_t n_heads,
                                int64_t n_kv_heads, int64_t head_dim, const char* who) {
  LB_CHECK(n_heads > 0 && n_kv_heads > 0 && head_dim > 0 && n_heads % n_kv_heads == 0, who, ": ",
           n_heads, " query heads cannot share ", n_kv_heads, " kv heads of ", head_dim);
  LB_CHECK(n_kv_heads * head_dim == cache.kv_dim(), who, ": ", n_kv_heads, " heads of ", head_dim,
           " do not match the cache's rows of ", cache.kv_dim());
  LB_CHECK(n_keys > 0 && n_keys <= cache.length(), who, ": ", n_keys, " keys requested, ",
           cache.length(), " cached");
}

void attention(const float* q, const KvLayerCache& cache, int64_t n_keys, int64_t n_heads,
               int64_t n_kv_heads, int64_t head_dim, float* out, ExecContext& ctx) {
  LB_CHECK(q != nullptr && out != nullptr, "attention: null pointer");
  cpu::check_attention_shape(cache, n_keys, n_heads, n_kv_heads, head_dim, "attention");
  const int64_t group = n_heads / n_kv_heads;
  const int64_t block = std::min(cache.block_tokens(), n_keys);
  const auto scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));
  ctx.pool->parallel_for(0, n_kv_heads, 1, [&](int64_t g0, int64_t g1) {
    std::vector<float> scores(static_cast<size_t>(group * n_keys));
    std::vector<float> scratch(
        cache.dtype() == KvDtype::f32 ? 0 : static_cast<size_t>(block * head_dim));
    for (int64_t g = g0; g < g1; ++g) {
      const int64_t c0 = g * head_dim;
      for (int64_t t0 = 0; t0 < n_keys; t0 += block) {
        const int64_t nb = std::min(block, n_keys - t0);
        int64_t ld = 0;
        const float* k = cache.read_keys(t0, nb, c0, head_dim, scratch.data(), &ld, ctx.isa);
        for (int64_t j = 0; j < group; ++j) {
          const float* q_head = q + (g * group + j) * head_dim;
          float* s = scores.data() + j * n_keys + t0;
          for (int64_t t = 0; t < nb; ++t)
            s[t] = cpu::dot_lanes(q_head, k + t * ld, head_dim) * scale;
        }
      }
      for (int64_t j = 0; j < group; ++j) {
        softmax(scores.data() + j * n_keys, n_keys);
        std::fill_n(out + (g * group + j) * head_dim, head_dim, 0.0f);
      }
      for (int64_t t0 = 0; t0 < n_keys; t0 += block) {
        const int64_t nb = std::min(block, n_keys - t0);
        int64_t ld = 0;
        const float* v = cache.read_values(t0, nb, c0, head_dim, scratch.data(), &ld, ctx.isa);
        for (int64_t j = 0; j < group; ++j) {
          const float* p = scores.data() + j * n_keys + t0;
          float* o = out + (g * group + j) * head_dim;
          for (int64_t t = 0; t < nb; ++t)
            for (int64_t d = 0; d < head_dim; ++d) o[d] += p[t] * v[t * ld + d];
        }
      }
    }
  });
}

}  // namespace lowbit::kernels
