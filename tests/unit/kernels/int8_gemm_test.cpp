// SPDX-License-Identifier: MIT
// The int8 products of each Isa against the scalar reference, bit for bit: every activation row
// count of one and two register tiles and their edges, lengths with and without a tail shorter
// than one vector, output ranges not starting at 0, extreme codes up to kInt8MaxK; and the
// activation quantizer's scale, saturation and row sums.
#include <gtest/gtest.h>

#include "testing/kernel_cases.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/cpu/int8_gemm.h"
#include "kernels/exec_context.h"

namespace lowbit::kernels::cpu {
namespace {

using testing::isas;

struct Operands {
  int64_t m = 0, n = 0, k = 0;
  std::vector<int8_t> a;
  std::vector<float> a_scales;
  std::vector<int32_t> a_sums;
  std::vector<uint8_t> w;
  std::vector<float> w_scales;
};

void set_sums(Operands& ops) {
  ops.a_sums.assign(static_cast<size_t>(ops.m), 0);
  for (int64_t i = 0; i < ops.m; ++i)
    for (int64_t t = 0; t < ops.k; ++t) ops.a_sums[i] += ops.a[i * ops.k + t];
}

Operands random_operands(int64_t m, int64_t n, int64_t k, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> act(-127, 127), code(0, 255);
  std::uniform_real_distribution<float> scale(1e-3f, 0.1f);
  Operands ops;
  ops.m = m;
  ops.n = n;
  ops.k = k;
  ops.a.resize(static_cast<size_t>(m * k));
  for (auto& v : ops.a) v = static_cast<int8_t>(act(rng));
  ops.w.resize(static_cast<size_t>(n * k));
  for (auto& v : ops.w) v = static_cast<uint8_t>(code(rng));
  ops.a_scales.resize(static_cast<size_t>(m));
  for (auto& s : ops.a_scales) s = scale(rng);
  ops.w_scales.resize(static_cast<size_t>(n));
  for (auto& s : ops.w_scales) s = scale(rng);
  set_sums(ops);
  return ops;
}

constexpr float kUntouched = -12345.0f;

// Outputs [n_begin, n_end) of `isa` into a wider y (ldy = n + 3) prefilled with kUntouched.
std::vector<float> run(const Operands& ops, int64_t n_begin, int64_t n_end, Isa isa) {
  const int64_t ldy = ops.n + 3;
  std::vector<float> y(static_cast<size_t>(ops.m * ldy), kUntouched);
  int8_kernels(isa).gemm(ops.a.data(), ops.a_scales.data(), ops.a_sums.data(), ops.m, ops.w.data(),
                         ops.w_scales.data(), n_begin, n_end, ops.k, y.data(), ldy);
  return y;
}

// Every Isa writes exactly the reference's bits inside the range and nothing outside it.
void expect_matches_reference(const Operands& ops, int64_t n_begin, int64_t n_end) {
  const int64_t ldy = ops.n + 3;
  std::vector<float> want(static_cast<size_t>(ops.m * ldy), kUntouched);
  ref::gemm_s8(ops.a.data(), ops.a_scales.data(), ops.a_sums.data(), ops.m, ops.w.data(),
               ops.w_scales.data(), n_begin, n_end, ops.k, want.data(), ldy);
  for (Isa isa : isas()) {
    const std::vector<float> got = run(ops, n_begin, n_end, isa);
    for (int64_t i = 0; i < ops.m; ++i) {
      for (int64_t j = 0; j < ldy; ++j) {
        const float g = got[i * ldy + j], r = want[i * ldy + j];
        ASSERT_EQ(std::bit_cast<uint32_t>(g), std::bit_cast<uint32_t>(r))
            << isa_name(isa) << " m=" << ops.m << " k=" << ops.k << " n=[" << n_begin << ","
            << n_end << ") at " << i << "," << j << ": " << g << " vs " << r;
      }
    }
  }
}

TEST(Int8Gemm, TablesPickTheirIsa) {
  EXPECT_EQ(int8_kernels(Isa::scalar).gemm, &ref::gemm_s8);
  EXPECT_EQ(int8_kernels(Isa::scalar).quantize_rows, &quantize_rows_s8);
#if defined(__x86_64__)
  EXPECT_EQ(int8_kernels(Isa::avx2).gemm, &avx2::gemm_s8);
  EXPECT_EQ(int8_kernels(Isa::avx2).quantize_rows, &avx2::quantize_rows_s8);
  EXPECT_EQ(int8_kernels(Isa::avx512).gemm, &avx512::gemm_s8);
#endif
}

// m = 1..9 covers the GEMV path, one 4-row tile with every edge and two tiles with every edge;
// n = 21 with ranges from 0, 2 and 5 covers two 8-row GEMV tiles, 4- and 2-row tiles and every
// edge count; the lengths cover whole vectors of 32 and 64 bytes and tails of each.
TEST(Int8Gemm, EveryIsaMatchesReferenceBitForBit) {
  const int64_t kLengths[] = {1, 31, 32, 33, 63, 64, 65, 100, 4096 + 17};
  const int64_t n = 21;
  uint32_t seed = 1;
  for (int64_t k : kLengths) {
    for (int64_t m = 1; m <= 9; ++m) {
      const Operands ops = random_operands(m, n, k, seed++);
      expect_matches_reference(ops, 0, n);
      expect_matches_reference(ops, 2, n);
      expect_matches_reference(ops, 5, 8);
      expect_matches_reference(ops, 13, 14);
    }
  }
}

// More activation rows than one L2 block holds at this length (about 256 KiB / k), so the row
// blocking's boundaries and a partial last block are crossed.
TEST(Int8Gemm, RowBlocksMatchReference) {
  const Operands ops = random_operands(135, 11, 4096 + 17, 77);
  expect_matches_reference(ops, 1, 11);
}

// The largest products: activations at +-127 against codes 0 and 255 (w = -128 and 127), at
// kInt8MaxK where |acc| is 2^31 - 2^24 and the VNNI raw sum a * code wraps around int32.
TEST(Int8Gemm, ExtremeCodesAtMaxK) {
  for (int64_t k : {int64_t{4096 + 17}, kInt8MaxK}) {
    Operands ops;
    ops.m = 3;
    ops.n = 3;
    ops.k = k;
    ops.a.resize(static_cast<size_t>(3 * k));
    ops.w.resize(static_cast<size_t>(3 * k));
    for (int64_t t = 0; t < k; ++t) {
      ops.a[t] = -127;
      ops.a[k + t] = 127;
      ops.a[2 * k + t] = static_cast<int8_t>(t % 2 == 0 ? -127 : 127);
      ops.w[t] = 0;
      ops.w[k + t] = 255;
      ops.w[2 * k + t] = static_cast<uint8_t>(t % 3 == 0 ? 0 : 255);
    }
    // Power-of-two scales: y is exactly acc / 4, so the expected values are known.
    ops.a_scales = {0.5f, 0.5f, 0.5f};
    ops.w_scales = {0.5f, 0.5f, 0.5f};
    set_sums(ops);
    expect_matches_reference(ops, 0, 3);
    const std::vector<float> y = run(ops, 0, 3, detect_isa());
    const int64_t ldy = ops.n + 3;
    EXPECT_EQ(y[0], static_cast<float>(-127 * -128 * k) * 0.25f);
    EXPECT_EQ(y[1], static_cast<float>(-127 * 127 * k) * 0.25f);
    EXPECT_EQ(y[ldy + 0], static_cast<float>(127 * -128 * k) * 0.25f);
  }
}

// Output elements do not depend on how [0, n) is split (so neither on the thread count).
TEST(Int8Gemm, SplitsGiveTheSameOutputs) {
  const Operands ops = random_operands(6, 37, 300, 5);
  for (Isa isa : isas()) {
    const std::vector<float> whole = run(ops, 0, ops.n, isa);
    const int64_t ldy = ops.n + 3;
    std::vector<float> split(static_cast<size_t>(ops.m * ldy), kUntouched);
    const int64_t cuts[] = {0, 3, 4, 17, 18, 29, 37};
    for (size_t c = 0; c + 1 < std::size(cuts); ++c) {
      int8_kernels(isa).gemm(ops.a.data(), ops.a_scales.data(), ops.a_sums.data(), ops.m,
                             ops.w.data(), ops.w_scales.data(), cuts[c], cuts[c + 1], ops.k,
                             split.data(), ldy);
    }
    for (size_t e = 0; e < whole.size(); ++e)
      ASSERT_EQ(std::bit_cast<uint32_t>(split[e]), std::bit_cast<uint32_t>(whole[e]))
          << isa_name(isa) << " element " << e;
  }
}

struct Quantized {
  std::vector<int8_t> q;
  std::vector<float> scales;
  std::vector<int32_t> sums;
};

Quantized quantize(const std::vector<float>& x, int64_t m, int64_t k, float static_scale) {
  Quantized out;
  out.q.assign(static_cast<size_t>(m * k), 99);
  out.scales.assign(static_cast<size_t>(m), -1.0f);
  out.sums.assign(static_cast<size_t>(m), -1);
  quantize_rows_s8(x.data(), m, k, static_scale, out.q.data(), out.scales.data(), out.sums.data());
  return out;
}

TEST(QuantizeRowsS8, DynamicScaleIsRowMaxOver127) {
  const int64_t m = 4, k = 50;
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<float> x(static_cast<size_t>(m * k));
  for (auto& v : x) v = normal(rng);
  x[1 * k + 7] = -40.0f;  // a negative extreme
  const Quantized r = quantize(x, m, k, 0.0f);
  for (int64_t i = 0; i < m; ++i) {
    float amax = 0.0f;
    int64_t at = 0;
    for (int64_t t = 0; t < k; ++t) {
      if (std::fabs(x[i * k + t]) > amax) {
        amax = std::fabs(x[i * k + t]);
        at = t;
      }
    }
    EXPECT_EQ(r.scales[i], amax / 127.0f) << "row " << i;
    EXPECT_EQ(std::abs(int{r.q[i * k + at]}), 127) << "row " << i;
    int32_t sum = 0;
    for (int64_t t = 0; t < k; ++t) {
      const int q = r.q[i * k + t];
      ASSERT_GE(q, -127);
      ASSERT_LE(q, 127);
      // Round to nearest: within half a step of the input (plus the f32 rounding of inv).
      EXPECT_LE(std::fabs(static_cast<float>(q) * r.scales[i] - x[i * k + t]),
                (0.5f + 1e-4f) * r.scales[i])
          << "row " << i << " element " << t;
      sum += q;
    }
    EXPECT_EQ(r.sums[i], sum) << "row " << i;
  }
  EXPECT_EQ(r.q[1 * k + 7], -127);
}

TEST(QuantizeRowsS8, StaticScaleSaturates) {
  const std::vector<float> x = {0.0f, 0.25f, -0.25f, 12.7f, 12.8f, -100.0f, 1e30f, 0.049f};
  const Quantized r = quantize(x, 1, static_cast<int64_t>(x.size()), 0.1f);
  EXPECT_EQ(r.scales[0], 0.1f);
  const std::vector<int8_t> want = {0, 2, -2, 127, 127, -127, 127, 0};
  EXPECT_EQ(r.q, want);
  int32_t sum = 0;
  for (int8_t v : want) sum += v;
  EXPECT_EQ(r.sums[0], sum);
}

TEST(QuantizeRowsS8, ZeroRowHasScaleZero) {
  const int64_t k = 9;
  std::vector<float> x(static_cast<size_t>(2 * k), 0.0f);
  x[k + 3] = 1.0f;  // the second row is not zero: only the first is scale 0
  const Quantized r = quantize(x, 2, k, 0.0f);
  EXPECT_EQ(r.scales[0], 0.0f);
  EXPECT_EQ(r.sums[0], 0);
  for (int64_t t = 0; t < k; ++t) EXPECT_EQ(r.q[t], 0);
  EXPECT_EQ(r.scales[1], 1.0f / 127.0f);
  EXPECT_EQ(r.q[k + 3], 127);
  EXPECT_EQ(r.sums[1], 127);
}

// Every Isa's quantizer returns the scalar one's codes, scales and sums: dynamic and static
// (saturating) scales, lengths with tails, a zero row, and exact ties (x * inv = n + 0.5, which
// nearbyint rounds to even).
TEST(QuantizeRowsS8, EveryIsaMatchesScalar) {
  std::mt19937 rng(21);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  for (int64_t k : {int64_t{1}, int64_t{7}, int64_t{8}, int64_t{31}, int64_t{32}, int64_t{33},
                    int64_t{100}, int64_t{4096 + 17}}) {
    const int64_t m = 4;
    std::vector<float> x(static_cast<size_t>(m * k));
    for (auto& v : x) v = normal(rng);
    for (int64_t t = 0; t < k; ++t) {
      x[2 * k + t] = 0.0f;                                  // zero row
      x[3 * k + t] = static_cast<float>(t % 300) - 149.5f;  // ties at scale 1
    }
    for (float static_scale : {0.0f, 0.05f, 1.0f}) {
      const Quantized want = quantize(x, m, k, static_scale);
      for (Isa isa : isas()) {
        Quantized got;
        got.q.assign(want.q.size(), 99);
        got.scales.assign(want.scales.size(), -1.0f);
        got.sums.assign(want.sums.size(), -1);
        int8_kernels(isa).quantize_rows(x.data(), m, k, static_scale, got.q.data(),
                                        got.scales.data(), got.sums.data());
        EXPECT_EQ(got.q, want.q) << isa_name(isa) << " k=" << k << " scale " << static_scale;
        EXPECT_EQ(got.sums, want.sums) << isa_name(isa) << " k=" << k;
        for (int64_t i = 0; i < m; ++i)
          EXPECT_EQ(std::bit_cast<uint32_t>(got.scales[i]), std::bit_cast<uint32_t>(want.scales[i]))
              << isa_name(isa) << " k=" << k << " row " << i;
      }
    }
  }
}

// Quantize, multiply at every Isa, compare with the f32 product: the end-to-end error is that
// of the two roundings (each within half a step), not of the integer product.
TEST(Int8Gemm, QuantizedProductApproximatesF32) {
  const int64_t m = 3, n = 5, k = 256;
  std::mt19937 rng(9);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(m * k));
  for (auto& v : x) v = normal(rng);
  Operands ops;
  ops.m = m;
  ops.n = n;
  ops.k = k;
  const Quantized qa = quantize(x, m, k, 0.0f);
  ops.a = qa.q;
  ops.a_scales = qa.scales;
  ops.a_sums = qa.sums;
  ops.w.resize(static_cast<size_t>(n * k));
  for (auto& c : ops.w) c = static_cast<uint8_t>(std::uniform_int_distribution<int>(0, 255)(rng));
  ops.w_scales.assign(static_cast<size_t>(n), 0.01f);
  for (Isa isa : isas()) {
    const std::vector<float> y = run(ops, 0, n, isa);
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        double exact = 0.0, bound = 0.0;
        for (int64_t t = 0; t < k; ++t) {
          const double wv = 0.01 * (int{ops.w[j * k + t]} - 128);
          exact += double{x[i * k + t]} * wv;
          bound += 0.5 * double{qa.scales[i]} * std::fabs(wv);
        }
        EXPECT_NEAR(y[i * (n + 3) + j], exact, bound * 1.001 + 1e-4)
            << isa_name(isa) << " " << i << "," << j;
      }
    }
  }
}

}  // namespace
}  // namespace lowbit::kernels::cpu
