// SPDX-License-Identifier: MIT
// Block-int8 products (cpu/block_q8.h): the quantizer and the products of every Isa equal the
// scalar reference bit for bit; the reference computes what its definition says (checked in
// double precision); linear with int8 activations takes the path for exactly the formats it
// supports, gives the same bits at any thread count, and stays within the activation rounding
// of the f32 product.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "kernels/cpu/block_q8.h"
#include "kernels/cpu/packed_q8.h"
#include "kernels/kernels.h"
#include "tensor/dequantize.h"
#include "testing/kernel_cases.h"
#include "testing/random_weight.h"

namespace lowbit::kernels::cpu {
namespace {

using testing::random_weight;

using testing::isas;

// Activations with a spread of magnitudes per block, exact ties (x * inv = n + 0.5 where the
// block max is 127 * 2^-4), an all-zero block and an outlier block.
std::vector<float> activations(int64_t m, int64_t k, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(m * k));
  for (auto& v : x) v = normal(rng);
  if (k >= 96) {
    for (int64_t i = 0; i < m; ++i) {
      float* row = x.data() + i * k;
      for (int e = 0; e < 32; ++e) row[e] = (e == 0 ? 127.0f : static_cast<float>(e) + 0.5f) / 16;
      for (int e = 32; e < 64; ++e) row[e] = 0.0f;
      row[70] = 300.0f;
    }
  }
  return x;
}

struct Quantized {
  std::vector<int8_t> q;
  std::vector<float> d;
  std::vector<int32_t> sums;
  std::vector<int32_t> half_sums;  // for weights in groups of 16 (element order only)
};

Quantized quantize(Isa isa, const std::vector<float>& x, int64_t m, int64_t k, bool nibbles) {
  Quantized out{std::vector<int8_t>(static_cast<size_t>(m * k)),
                std::vector<float>(static_cast<size_t>(m * k / kQ8Block)),
                std::vector<int32_t>(static_cast<size_t>(m * k / kQ8Block)),
                std::vector<int32_t>(static_cast<size_t>(m * k / 16))};
  quantize_blocks_kernel(isa)(x.data(), m, k, nibbles, out.q.data(), out.d.data(), out.sums.data());
  q8_half_sums(out.q.data(), m, k, out.half_sums.data());
  return out;
}

// The product's view of quantized activations for weight v, with v's per-group zero terms
// computed into `zero_terms`.
Q8Rows rows_for(const Quantized& a, const WeightView& v, int64_t m,
                std::vector<float>& zero_terms) {
  zero_terms.resize(static_cast<size_t>(m * v.groups));
  // Groups of 16 are symmetric: no zero terms, the half blocks' code sums instead.
  if (v.group_len % kQ8Block == 0)
    q8_zero_terms(a.d.data(), a.sums.data(), m, v.cols, v.group_len, zero_terms.data());
  return Q8Rows{a.q.data(), a.d.data(), a.sums.data(),     zero_terms.data(),
                m,          v.cols,     a.half_sums.data()};
}

TEST(BlockQ8Quantize, EveryIsaEqualsTheReference) {
  const int64_t m = 3, k = 256;
  const std::vector<float> x = activations(m, k, 1);
  for (bool nibbles : {false, true}) {
    const Quantized want = quantize(Isa::scalar, x, m, k, nibbles);
    for (Isa isa : isas()) {
      const Quantized got = quantize(isa, x, m, k, nibbles);
      EXPECT_EQ(got.q, want.q) << isa_name(isa) << " nibbles " << nibbles;
      EXPECT_EQ(0, std::memcmp(got.d.data(), want.d.data(), want.d.size() * 4)) << isa_name(isa);
      EXPECT_EQ(got.sums, want.sums) << isa_name(isa);
    }
  }
}

TEST(BlockQ8Quantize, FollowsTheDefinition) {
  const int64_t m = 2, k = 128;
  const std::vector<float> x = activations(m, k, 2);
  const Quantized plain = quantize(Isa::scalar, x, m, k, false);
  const Quantized split = quantize(Isa::scalar, x, m, k, true);
  for (int64_t i = 0; i < m; ++i) {
    // Block 0: max 127/16, so d = 1/16 exactly and (e + 0.5) rounds half to even.
    EXPECT_EQ(plain.d[i * 4], 1.0f / 16);
    EXPECT_EQ(plain.q[i * k + 0], 127);
    EXPECT_EQ(plain.q[i * k + 1], 2);     // 1.5 -> 2
    EXPECT_EQ(plain.q[i * k + 2], 2);     // 2.5 -> 2
    EXPECT_EQ(plain.q[i * k + 5], 6);     // 5.5 -> 6
    EXPECT_EQ(plain.d[i * 4 + 1], 0.0f);  // the zero block
    EXPECT_EQ(plain.sums[i * 4 + 1], 0);
    EXPECT_EQ(plain.q[i * k + 70], 127);  // the outlier is its block's max
    for (int64_t b = 0; b < k / kQ8Block; ++b) {
      int32_t sum = 0;
      for (int e = 0; e < 32; ++e) {
        const int8_t v = plain.q[i * k + b * 32 + e];
        sum += v;
        const int64_t at = e % 2 == 0 ? e / 2 : 16 + e / 2;
        EXPECT_EQ(split.q[i * k + b * 32 + at], v);
        // Round trip within half a step.
        EXPECT_LE(std::fabs(x[i * k + b * 32 + e] - plain.d[i * 4 + b] * v),
                  0.5f * plain.d[i * 4 + b] * 1.0001f);
      }
      EXPECT_EQ(plain.sums[i * 4 + b], sum);
      EXPECT_EQ(split.sums[i * 4 + b], sum);
    }
  }
}

std::vector<QuantFormat> supported_formats() {
  std::vector<QuantFormat> out;
  for (int bits : {4, 8})
    for (bool sym : {true, false}) {
      for (int group : {32, 64, 128, kPerChannel, kPerTensor})
        out.push_back(QuantFormat::affine(bits, group, sym));
      QuantFormat f = QuantFormat::affine(bits, 64, sym);
      f.scale_dtype = DType::f32;
      out.push_back(f);
    }
  // 5- and 6-bit codes (Q5_0, Q5_1, Q5_K, Q6_K): the 6-bit layout (5-bit codes shifted, f32
  // parameters; 6-bit ones keep f16 parameters).
  for (int bits : {5, 6}) {
    out.push_back(QuantFormat::affine(bits, 32, true));
    out.push_back(QuantFormat::affine(bits, kPerChannel, true));
    out.push_back(QuantFormat::affine(bits, 64, false));
    out.push_back(QuantFormat::affine_min(bits, 32));
    QuantFormat f = QuantFormat::affine(bits, 128, false);
    f.scale_dtype = DType::f32;
    out.push_back(f);
  }
  // Symmetric groups of 16 (Q6_K's sub-blocks): two groups per activation block.
  for (int bits : {5, 6, 8}) out.push_back(QuantFormat::affine(bits, 16, true));
  // ggml's min form (q4_1's layout, and other widths and groups).
  for (int bits : {4, 8}) {
    for (int group : {32, 128, kPerChannel, kPerTensor})
      out.push_back(QuantFormat::affine_min(bits, group));
    QuantFormat f = QuantFormat::affine_min(bits, 64);
    f.scale_dtype = DType::f32;
    out.push_back(f);
  }
  return out;
}

// The reference's product recomputed in double from the dequantized operands: the definition
// is that sum up to f32 rounding.
TEST(BlockQ8Dot, ReferenceComputesTheQuantizedProduct) {
  const int64_t m = 2, n = 13, k = 256;
  const std::vector<float> x = activations(m, k, 3);
  for (const QuantFormat& f : supported_formats()) {
    const QuantizedTensor w = random_weight(f, n, k, 4);
    const WeightView v = make_weight_view(w);
    ASSERT_TRUE(block_q8_supports(v)) << format_name(f);
    const bool nibbles = f.bits == 4;
    const Quantized a = quantize(Isa::scalar, x, m, k, nibbles);
    std::vector<float> zero_terms;
    const Q8Rows rows = rows_for(a, v, m, zero_terms);
    std::vector<float> y(static_cast<size_t>(m * n));
    ref::dot_rows_q8(v, rows, 0, n, y.data(), n);
    const std::vector<float> dense = dequantize_reference(w);
    const Quantized plain = quantize(Isa::scalar, x, m, k, false);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t r = 0; r < n; ++r) {
        double exact = 0, magnitude = 0;
        for (int64_t c = 0; c < k; ++c) {
          const double xv =
              static_cast<double>(plain.d[i * (k / 32) + c / 32]) * plain.q[i * k + c];
          exact += xv * dense[r * k + c];
          magnitude += std::fabs(xv * dense[r * k + c]);
        }
        ASSERT_NEAR(y[i * n + r], exact, 1e-5 * magnitude)
            << format_name(f) << " " << i << "," << r;
      }
  }
}

// The packed kernels (rows repacked into 8-row tiles, activations in element order) against the
// reference on the stored layout (activations in nibble order for 4 bits): the same bits.
std::vector<float> packed_product(Isa isa, const QuantizedTensor& w, const std::vector<float>& x,
                                  int64_t m, int64_t tile_begin, int64_t tile_end) {
  const WeightView v = make_weight_view(w);
  const int64_t k = v.cols;
  ExecContext ctx(2);
  const auto packed = pack_q8(v, ctx);
  const Quantized a = quantize(isa, x, m, k, false);
  std::vector<float> zero_terms;
  const Q8Rows rows = rows_for(a, v, m, zero_terms);
  std::vector<float> y(static_cast<size_t>(m * v.rows), -1.0f);
  packed_dot_kernel(isa)(*packed, rows, tile_begin, tile_end, y.data(), v.rows);
  return y;
}

std::vector<float> reference_product(const QuantizedTensor& w, const std::vector<float>& x,
                                     int64_t m, int64_t row_begin, int64_t row_end) {
  const WeightView v = make_weight_view(w);
  const int64_t k = v.cols;
  const Quantized a = quantize(Isa::scalar, x, m, k, v.bits == 4);
  std::vector<float> zero_terms;
  const Q8Rows rows = rows_for(a, v, m, zero_terms);
  std::vector<float> y(static_cast<size_t>(m * v.rows), -1.0f);
  ref::dot_rows_q8(v, rows, row_begin, row_end, y.data(), v.rows);
  return y;
}

std::vector<Isa> simd_isas() {
  std::vector<Isa> out;
  for (Isa isa : isas())
    if (packed_dot_kernel(isa) != nullptr) out.push_back(isa);
  return out;
}

TEST(BlockQ8Dot, PackedKernelsEqualTheReferenceBitForBit) {
  const int64_t n = 29, k = 352;  // 3 full tiles and one of 5 rows; 64/128 groups ragged
  for (const QuantFormat& f : supported_formats()) {
    const QuantizedTensor w = random_weight(f, n, k, 5);
    for (int64_t m : {1, 2, 3, 5, 9}) {
      const std::vector<float> x = activations(m, k, 6);
      const std::vector<float> want = reference_product(w, x, m, 8, n);
      for (Isa isa : simd_isas()) {
        const std::vector<float> got = packed_product(isa, w, x, m, 1, 4);
        ASSERT_EQ(0, std::memcmp(got.data(), want.data(), got.size() * 4))
            << format_name(f) << " M=" << m << " " << isa_name(isa);
      }
    }
  }
}

TEST(BlockQ8Dot, ExtremeCodesAndActivationsStayExact) {
  // Every code at its maximum against +-127 activations: the largest block sums.
  const int64_t n = 8, k = 4096;
  for (int bits : {4, 6, 8}) {
    QuantizedTensor w = random_weight(QuantFormat::affine(bits, kPerChannel, true), n, k, 7);
    std::memset(w.codes.mutable_data(), 0xFF, w.codes.size());
    std::vector<float> x(static_cast<size_t>(k));
    for (int64_t c = 0; c < k; ++c) x[c] = c % 3 == 0 ? -1.0f : 1.0f;
    const std::vector<float> want = reference_product(w, x, 1, 0, n);
    for (Isa isa : simd_isas()) {
      const std::vector<float> got = packed_product(isa, w, x, 1, 0, 1);
      EXPECT_EQ(0, std::memcmp(got.data(), want.data(), n * 4)) << bits << " " << isa_name(isa);
    }
  }
}

TEST(BlockQ8Dot, PackedLayoutIsRebuiltForOtherBuffers) {
  const QuantizedTensor w = random_weight(QuantFormat::affine(4, 32, false), 16, 64, 10);
  const WeightView v = make_weight_view(w);
  ExecContext ctx(1);
  const PackedQ8& first = packed_q8_of(w, v, ctx);
  EXPECT_EQ(&first, &packed_q8_of(w, v, ctx));  // built once
  QuantizedTensor copy = w;                     // shares the buffers: shares the layout
  EXPECT_EQ(&first, &packed_q8_of(copy, make_weight_view(copy), ctx));
  copy.codes = Buffer::copy_of(w.codes.data(), w.codes.size());
  const PackedQ8& other = packed_q8_of(copy, make_weight_view(copy), ctx);
  EXPECT_EQ(other.source_codes, copy.codes.data());
  EXPECT_NE(other.source_codes, w.codes.data());
}

TEST(BlockQ8Linear, TakesThePathOnlyWhereSupportedAndIsThreadInvariant) {
  const int64_t n = 40, k = 192;
  std::vector<QuantFormat> formats = supported_formats();
  formats.push_back(QuantFormat::affine(3, 32, true));   // 3-bit: f32 path
  formats.push_back(QuantFormat::affine(4, 48, true));   // groups off the block grid
  formats.push_back(QuantFormat::affine(4, 16, true));   // 4-bit groups of 16: nibble layout
  formats.push_back(QuantFormat::affine(6, 16, false));  // asymmetric groups of 16
  formats.push_back(QuantFormat::nf4(64, false));
  formats.push_back(QuantFormat::dense(QuantKind::f16));
  for (const QuantFormat& f : formats) {
    const QuantizedTensor w = random_weight(f, n, k, 8);
    const bool supported = block_q8_supports(make_weight_view(w));
    const std::vector<float> dense = dequantize_reference(w);
    for (int64_t m : {1, 5}) {
      const std::vector<float> x = activations(m, k, 9);
      for (Isa isa : isas()) {
        std::vector<float> reference(static_cast<size_t>(m * n)), first;
        ExecContext f32_ctx(1);
        f32_ctx.isa = isa;
        linear(x.data(), m, w, nullptr, reference.data(), f32_ctx);
        for (int threads : {1, 2, 3}) {
          ExecContext ctx(threads);
          ctx.isa = isa;
          ctx.int8_activations = true;
          std::vector<float> y(static_cast<size_t>(m * n));
          linear(x.data(), m, w, nullptr, y.data(), ctx);
          if (first.empty()) {
            first = y;
            const bool same = std::memcmp(y.data(), reference.data(), y.size() * 4) == 0;
            EXPECT_EQ(same, !supported) << format_name(f) << " " << isa_name(isa);
            if (!supported) continue;
            // Each activation moves by at most half a step of its block (d_b / 2), so the
            // product moves by at most sum_c d_b(c) / 2 * |w_c|, plus f32 rounding.
            const Quantized a = quantize(Isa::scalar, x, m, k, false);
            for (int64_t i = 0; i < m; ++i)
              for (int64_t r = 0; r < n; ++r) {
                double bound = 0, magnitude = 0;
                for (int64_t c = 0; c < k; ++c) {
                  bound += 0.5 * a.d[i * (k / 32) + c / 32] * std::fabs(dense[r * k + c]);
                  magnitude += std::fabs(x[i * k + c] * dense[r * k + c]);
                }
                ASSERT_NEAR(y[i * n + r], reference[i * n + r], bound + 1e-5 * magnitude)
                    << format_name(f) << " " << i << "," << r;
              }
          } else {
            ASSERT_EQ(0, std::memcmp(first.data(), y.data(), y.size() * 4))
                << format_name(f) << " " << threads << " threads " << isa_name(isa);
          }
        }
      }
    }
  }
}

// One input through several weights: the same bits as one linear call per weight, fused (one
// quantization, one job) when every weight takes the int8 path, and otherwise one call each.
TEST(BlockQ8Linear, SharedInputEqualsSeparateCalls) {
  const int64_t k = 192;
  const QuantizedTensor q = random_weight(QuantFormat::affine(4, 32, true), 40, k, 11);
  const QuantizedTensor kv = random_weight(QuantFormat::affine(4, 64, false), 16, k, 12);
  const QuantizedTensor w8 = random_weight(QuantFormat::affine(8, kPerChannel, true), 24, k, 13);
  const QuantizedTensor f16 = random_weight(QuantFormat::dense(QuantKind::f16), 8, k, 14);
  const std::vector<float> bias(40, 0.25f);
  for (const std::vector<const QuantizedTensor*>& set :
       {std::vector<const QuantizedTensor*>{&q, &kv, &kv},
        std::vector<const QuantizedTensor*>{&q, &w8},
        std::vector<const QuantizedTensor*>{&q, &f16}}) {
    for (int64_t m : {1, 6}) {
      const std::vector<float> x = activations(m, k, 15);
      for (Isa isa : isas())
        for (bool int8 : {false, true}) {
          ExecContext ctx(2);
          ctx.isa = isa;
          ctx.int8_activations = int8;
          std::vector<std::vector<float>> fused, separate;
          std::vector<LinearTarget> targets;
          for (size_t i = 0; i < set.size(); ++i) {
            fused.emplace_back(static_cast<size_t>(m * set[i]->rows()), -1.0f);
            separate.emplace_back(static_cast<size_t>(m * set[i]->rows()), -2.0f);
            const float* b = i == 0 ? bias.data() : nullptr;
            targets.push_back({set[i], b, fused.back().data()});
            linear(x.data(), m, *set[i], b, separate.back().data(), ctx);
          }
          linear_shared_input(x.data(), m, targets, ctx);
          for (size_t i = 0; i < set.size(); ++i)
            ASSERT_EQ(0, std::memcmp(fused[i].data(), separate[i].data(), fused[i].size() * 4))
                << "weight " << i << " M=" << m << " " << isa_name(isa) << " int8 " << int8;
        }
    }
  }
}

// A NaN or an infinity in the input makes the outputs NaN on every path, never finite garbage.
TEST(BlockQ8Linear, NonFiniteInputGivesNan) {
  const int64_t n = 16, k = 96;
  const QuantizedTensor w = random_weight(QuantFormat::affine(4, 32, false), n, k, 16);
  for (float bad :
       {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    std::vector<float> x = activations(2, k, 17);
    x[k + 40] = bad;  // row 1, block 1
    for (Isa isa : isas()) {
      const Quantized a = quantize(isa, x, 2, k, false);
      EXPECT_TRUE(std::isnan(a.d[3 + 1])) << isa_name(isa);
      EXPECT_EQ(a.sums[3 + 1], 0) << isa_name(isa);
      ExecContext ctx(2);
      ctx.isa = isa;
      ctx.int8_activations = true;
      std::vector<float> y(static_cast<size_t>(2 * n));
      linear(x.data(), 2, w, nullptr, y.data(), ctx);
      for (int64_t r = 0; r < n; ++r) {
        EXPECT_FALSE(std::isnan(y[r])) << isa_name(isa);  // row 0 is clean
        EXPECT_TRUE(std::isnan(y[n + r])) << isa_name(isa) << " row " << r;
      }
    }
  }
}

}  // namespace
}  // namespace lowbit::kernels::cpu
