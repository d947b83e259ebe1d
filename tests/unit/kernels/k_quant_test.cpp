// SPDX-License-Identifier: MIT
// ggml's k-quants (Q4_K, Q5_K, Q6_K) held packed (tensor/k_quant.h): the reference decoder
// against the ggml formula written out here, every Isa's decoder and linear against it, thread
// invariance, and every k-quant through the int8-activation kernels bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/cpu/block_q8.h"
#include "kernels/cpu/packed_q8.h"
#include "kernels/cpu/row_kernels.h"
#include "kernels/kernels.h"
#include "numerics/bit_pack.h"
#include "numerics/half.h"
#include "tensor/dequantize.h"
#include "tensor/k_quant.h"
#include "testing/kernel_cases.h"
#include "testing/random_weight.h"
#include "util/error.h"

namespace lowbit::kernels {
namespace {

using testing::random_weight;

using testing::isas;

float f16_at(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}

// ggml's dequantize_row_q{4,5,6}_K on lowbit's layout (codes in the bit stream, the super-block
// scale bytes as ggml stores them): y = d * sc * q - dmin * m, or d * sc * (q - 32).
std::vector<float> ggml_formula(const QuantizedTensor& w) {
  const int bits = w.format.bits;
  const int64_t rows = w.rows(), cols = w.cols(), per_row = cols / kKSuper;
  const auto bytes = static_cast<size_t>(k_super_bytes(bits));
  std::vector<float> y(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      const uint8_t* s = w.scales.data() + static_cast<size_t>(r * per_row + c / kKSuper) * bytes;
      const int e = static_cast<int>(c % kKSuper);
      const float q = static_cast<float>(packed_code(w.codes.data() + r * w.row_bytes(), c, bits));
      float v = 0;
      if (bits == 6) {
        v = f16_at(s + 16) * static_cast<float>(static_cast<int8_t>(s[e / 16])) * (q - 32.0f);
      } else {
        unsigned sc = 0, m = 0;
        k_scale_min(s + 4, e / 32, sc, m);
        v = f16_at(s) * static_cast<float>(sc) * q - f16_at(s + 2) * static_cast<float>(m);
      }
      y[static_cast<size_t>(r * cols + c)] = v;
    }
  return y;
}

class KQuant : public ::testing::TestWithParam<int> {};

TEST_P(KQuant, DecodersEqualGgmlsFormulaBitForBit) {
  const QuantizedTensor w = random_weight(QuantFormat::k_quant_of(GetParam()), 24, 512, 3);
  const std::vector<float> want = ggml_formula(w);
  EXPECT_EQ(0, std::memcmp(dequantize_reference(w).data(), want.data(), want.size() * 4));
  const cpu::WeightView v = cpu::make_weight_view(w);
  for (Isa isa : isas()) {
    std::vector<float> got(want.size());
    cpu::row_kernels(isa).decode_rows(v, 0, w.rows(), got.data());
    EXPECT_EQ(0, std::memcmp(got.data(), want.data(), want.size() * 4)) << isa_name(isa);
  }
}

TEST_P(KQuant, LinearMatchesTheDequantizedProductAtAnyThreadCount) {
  const int64_t n = 40, k = 512;
  const QuantizedTensor w = random_weight(QuantFormat::k_quant_of(GetParam()), n, k, 5);
  const std::vector<float> dense = dequantize_reference(w);
  for (int64_t m : {1, 7}) {
    const std::vector<float> x = testing::normal_values(m * k, 9);
    for (Isa isa : isas())
      for (bool int8 : {false, true}) {
        std::vector<float> first;
        for (int threads : {1, 2, 3}) {
          ExecContext ctx(threads);
          ctx.isa = isa;
          ctx.int8_activations = int8;
          std::vector<float> y(static_cast<size_t>(m * n));
          linear(x.data(), m, w, nullptr, y.data(), ctx);
          if (first.empty()) {
            first = y;
          } else {
            ASSERT_EQ(0, std::memcmp(first.data(), y.data(), y.size() * 4)) << threads;
          }
        }
        // int8 activations round the input to 8 bits per block of 32: a looser bound.
        const double tolerance = int8 ? 2e-2 : 1e-5;
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            double exact = 0, magnitude = 0;
            for (int64_t c = 0; c < k; ++c) {
              const double p = static_cast<double>(x[i * k + c]) * dense[j * k + c];
              exact += p;
              magnitude += std::abs(p);
            }
            ASSERT_NEAR(first[i * n + j], exact, tolerance * magnitude)
                << "bits " << GetParam() << " isa " << isa_name(isa) << " int8 " << int8;
          }
      }
  }
}

INSTANTIATE_TEST_SUITE_P(Bits, KQuant, ::testing::Values(4, 5, 6));

// Q4_K / Q5_K (min form, sub-blocks of 32) and Q6_K (symmetric, sub-blocks of 16) meet the
// int8-activation kernels with their compact super-block parameters: the packed SIMD kernels
// equal the reference product on the stored layout bit for bit.
class KQuantInt8 : public ::testing::TestWithParam<int> {};

TEST_P(KQuantInt8, PackedKernelsEqualTheReference) {
  const int64_t n = 40, k = 512;
  const QuantizedTensor w = random_weight(QuantFormat::k_quant_of(GetParam()), n, k, 11);
  const cpu::WeightView v = cpu::make_weight_view(w);
  ASSERT_TRUE(cpu::block_q8_supports(v));
  for (int64_t m : {1, 3, 5}) {
    const std::vector<float> x = testing::normal_values(m * k, 13);
    std::vector<float> want;
    for (Isa isa : isas()) {
      ExecContext ctx(2);
      ctx.isa = isa;
      ctx.int8_activations = true;
      std::vector<float> y(static_cast<size_t>(m * n));
      linear(x.data(), m, w, nullptr, y.data(), ctx);
      if (want.empty()) {
        want = y;  // Isa::scalar: ref::dot_rows_q8
      } else {
        EXPECT_EQ(0, std::memcmp(want.data(), y.data(), y.size() * 4))
            << isa_name(isa) << " M=" << m;
      }
    }
  }
}

// The packed form keeps ggml's parameter bytes (f16 d and dmin per super-block, one byte per
// sub-block scale and min) instead of an f32 scale and min per sub-block, which would add two
// bits per weight to what each decoded token reads.
TEST_P(KQuantInt8, PackedParametersStayCompact) {
  const int bits = GetParam();
  const int64_t n = 40, k = 512, tiles = 5, supers = 2;
  const QuantizedTensor w = random_weight(QuantFormat::k_quant_of(bits), n, k, 11);
  ExecContext ctx(1);
  const auto p = cpu::pack_q8(cpu::make_weight_view(w), ctx);
  EXPECT_TRUE(p->k_super);
  EXPECT_TRUE(p->scales.empty() && p->zeros.empty() && p->scales16.empty());
  const int64_t per_tile_super = bits == 6 ? 8 * 2 + 16 * 8 : 2 * 8 * 2 + 2 * 8 * 8;
  EXPECT_EQ(p->kernel_bytes() - static_cast<int64_t>(p->codes.size()),
            tiles * supers * per_tile_super);
  // 0.5625 (Q6_K) or 0.625 (Q4_K / Q5_K) bits per weight.
  EXPECT_LE(8.0 * static_cast<double>(tiles * supers * per_tile_super) /
                static_cast<double>(tiles * 8 * k),
            0.625);
}

INSTANTIATE_TEST_SUITE_P(Bits, KQuantInt8, ::testing::Values(4, 5, 6));

// Rows that are not whole super-blocks are refused (buffer sizes cannot be computed).
TEST(KQuantFormat, NeedsWholeSuperBlocks) {
  EXPECT_THROW(buffer_sizes(QuantFormat::k_quant_of(4), 2, 576), InvalidArgument);
  EXPECT_EQ(buffer_sizes(QuantFormat::k_quant_of(4), 2, 512).scales, 2u * 2 * 16);
  EXPECT_EQ(buffer_sizes(QuantFormat::k_quant_of(6), 2, 512).scales, 2u * 2 * 18);
  EXPECT_DOUBLE_EQ(bits_per_weight(QuantFormat::k_quant_of(4), 4, 256), 4.5);
  EXPECT_DOUBLE_EQ(bits_per_weight(QuantFormat::k_quant_of(5), 4, 256), 5.5);
  EXPECT_DOUBLE_EQ(bits_per_weight(QuantFormat::k_quant_of(6), 4, 256), 6.5625);
}

}  // namespace
}  // namespace lowbit::kernels
