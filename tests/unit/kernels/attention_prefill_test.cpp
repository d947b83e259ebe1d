// SPDX-License-Identifier: MIT
// attention_prefill (matrix-product path) against the per-row attention kernel, f32 cache.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/kernels.h"
#include "util/error.h"

namespace lowbit::kernels {
namespace {

struct Case {
  int64_t start_pos, n, n_heads, n_kv_heads, head_dim;
};

class AttentionPrefill : public ::testing::TestWithParam<Case> {};

TEST_P(AttentionPrefill, MatchesPerRowAttentionAtAnyThreadCount) {
  const Case c = GetParam();
  const int64_t total = c.start_pos + c.n, kv_stride = c.n_kv_heads * c.head_dim + 3;
  const int64_t q_width = c.n_heads * c.head_dim;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.5f);
  std::vector<float> q(static_cast<size_t>(c.n * q_width)),
      keys(static_cast<size_t>(total * kv_stride)), values(keys.size());
  for (auto* v : {&q, &keys, &values})
    for (float& x : *v) x = normal(rng);
  KvLayerCache cache(KvFormat{}, 0, total, c.n_kv_heads, c.head_dim);
  cache.write(0, total, keys.data(), values.data(), kv_stride);
  std::vector<float> expected(q.size());
  ExecContext one(1);
  for (int64_t t = 0; t < c.n; ++t)
    attention(&q[t * q_width], cache, c.start_pos + t + 1, c.n_heads, c.n_kv_heads, c.head_dim,
              &expected[t * q_width], one);
  std::vector<float> first;
  for (int threads : {1, 2, 3}) {
    ExecContext ctx(threads);
    std::vector<float> got(q.size(), NAN);
    attention_prefill(q.data(), cache, c.start_pos, c.n, c.n_heads, c.n_kv_heads, c.head_dim,
                      got.data(), ctx);
    for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], expected[i], 2e-5) << i;
    if (first.empty()) first = got;
    EXPECT_EQ(got, first) << threads << " threads";
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, AttentionPrefill,
                         ::testing::Values(Case{0, 1, 2, 1, 8}, Case{0, 70, 8, 4, 8},
                                           Case{5, 130, 4, 4, 16}, Case{100, 3, 6, 2, 32}));

TEST(AttentionPrefillErrors, BadShapesThrow) {
  ExecContext ctx(1);
  std::vector<float> buf(1024);
  KvLayerCache cache(KvFormat{}, 0, 8, 2, 4);
  cache.write(0, 2, buf.data(), buf.data(), 8);
  EXPECT_THROW(attention_prefill(buf.data(), cache, 0, 0, 2, 2, 4, buf.data(), ctx), Error);
  EXPECT_THROW(attention_prefill(buf.data(), cache, 0, 2, 3, 2, 4, buf.data(), ctx), Error);
  EXPECT_THROW(attention_prefill(buf.data(), cache, 0, 3, 2, 2, 4, buf.data(), ctx),
               Error);  // past what is cached
}

}  // namespace
}  // namespace lowbit::kernels
