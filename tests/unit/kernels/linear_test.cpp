// SPDX-License-Identifier: MIT
// linear, dequantize_rows and embedding_lookup on every format and Isa against the tensor-layer
// reference decoder, built from random codes and scales (not through a quantizer).
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/row_kernels.h"
#include "kernels/kernels.h"
#include "numerics/half.h"
#include "tensor/dequantize.h"
#include "testing/kernel_cases.h"
#include "testing/random_weight.h"
#include "util/error.h"

namespace lowbit::kernels {
namespace {

using testing::random_weight;

// Every output is within this fraction of sum_k |x_k * w_k| of the exact product: f32
// accumulation over K <= 203 in any order stays far inside it.
constexpr double kLinearTolerance = 1e-5;

using testing::isas;

std::vector<QuantFormat> all_formats() {
  std::vector<QuantFormat> out;
  for (QuantKind k : {QuantKind::f32, QuantKind::f16, QuantKind::bf16})
    out.push_back(QuantFormat::dense(k));
  for (int bits = 2; bits <= 8; ++bits)
    for (bool sym : {true, false})
      for (int group : {32, 64, 128, kPerChannel, kPerTensor})
        out.push_back(QuantFormat::affine(bits, group, sym));
  for (int bits : {3, 4, 8})
    for (bool sym : {true, false}) {
      QuantFormat f = QuantFormat::affine(bits, 128, sym);
      f.scale_dtype = DType::f32;
      out.push_back(f);
      out.push_back(QuantFormat::affine(bits, 37, sym));  // odd groups: nibbles off bytes
    }
  // ggml's min form (w = scale * q + min): its sizes, then other widths and groups.
  for (int bits : {4, 5, 8, 3})
    for (int group : {32, 128, 37, kPerChannel, kPerTensor})
      out.push_back(QuantFormat::affine_min(bits, group));
  for (int block : {32, 64, 37})
    for (bool dq : {false, true}) out.push_back(QuantFormat::nf4(block, dq));
  for (QuantKind k : {QuantKind::fp8_e4m3, QuantKind::fp8_e5m2})
    for (int group : {kPerChannel, kPerTensor}) out.push_back(QuantFormat::fp8(k, group));
  for (int block : {32, 64, 37}) out.push_back(QuantFormat::iq4_nl(block));
  for (int bits : {2, 3, 4})
    for (int state_bits : {bits + 1, 12}) out.push_back(QuantFormat::trellis(bits, state_bits));
  return out;
}

class FormatTest : public ::testing::TestWithParam<QuantFormat> {};

std::string format_test_name(const ::testing::TestParamInfo<QuantFormat>& info) {
  const QuantFormat& f = info.param;
  std::string name = format_name(f);
  if (f.kind == QuantKind::affine_int && f.scale_dtype == DType::f32) name += " f32 scales";
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name + "_" + std::to_string(info.index);
}

TEST_P(FormatTest, LinearMatchesReference) {
  const QuantFormat f = GetParam();
  for (int64_t k : {200, 77}) {
    const int64_t n = 150;
    const QuantizedTensor w = random_weight(f, n, k, 7);
    const std::vector<float> dense = dequantize_reference(w);
    const std::vector<float> bias = testing::normal_values(n, 3);
    for (int64_t m : {1, 3, 67}) {
      const std::vector<float> x = testing::normal_values(m * k, 11);
      for (Isa isa : isas()) {
        ExecContext ctx(2);
        ctx.isa = isa;
        std::vector<float> y(static_cast<size_t>(m * n));
        const bool with_bias = m != 3;
        linear(x.data(), m, w, with_bias ? bias.data() : nullptr, y.data(), ctx);
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            double exact = with_bias ? bias[j] : 0.0, magnitude = std::abs(exact);
            for (int64_t c = 0; c < k; ++c) {
              const double p = static_cast<double>(x[i * k + c]) * dense[j * k + c];
              exact += p;
              magnitude += std::abs(p);
            }
            ASSERT_NEAR(y[i * n + j], exact, kLinearTolerance * magnitude + 1e-30)
                << "M=" << m << " K=" << k << " isa " << isa_name(isa) << " at " << i << "," << j;
          }
      }
    }
  }
}

TEST_P(FormatTest, SameBitsAtAnyThreadCount) {
  const int64_t n = 150, k = 200;
  const QuantizedTensor w = random_weight(GetParam(), n, k, 5);
  for (int64_t m : {1, 67}) {
    const std::vector<float> x = testing::normal_values(m * k, 13);
    for (Isa isa : isas()) {
      std::vector<float> first;
      for (int threads : {1, 2, 3}) {
        ExecContext ctx(threads);
        ctx.isa = isa;
        std::vector<float> y(static_cast<size_t>(m * n));
        linear(x.data(), m, w, nullptr, y.data(), ctx);
        if (first.empty()) {
          first = y;
        } else {
          ASSERT_EQ(0, std::memcmp(first.data(), y.data(), y.size() * 4))
              << threads << " threads, M=" << m << ", isa " << isa_name(isa);
        }
      }
    }
  }
}

// Decoding is elementwise scale * value in every path, so it matches the reference exactly.
TEST_P(FormatTest, DecodeIsBitExact) {
  const int64_t n = 9, k = 203;
  const QuantizedTensor w = random_weight(GetParam(), n, k, 9);
  const std::vector<float> want = dequantize_reference(w);
  const cpu::WeightView v = cpu::make_weight_view(w);
  // Trellis tensors have no row decoders (their rows are un-rotated as a whole: linear rotates
  // the input instead); the whole-row paths below still apply.
  for (Isa isa : w.format.kind == QuantKind::trellis ? std::vector<Isa>{} : isas()) {
    std::vector<float> got(static_cast<size_t>((n - 2) * k));
    cpu::row_kernels(isa).decode_rows(v, 2, n, got.data());
    ASSERT_EQ(0, std::memcmp(got.data(), want.data() + 2 * k, got.size() * 4)) << isa_name(isa);
  }
  std::vector<float> row(static_cast<size_t>(k));
  embedding_lookup(w, 4, row.data());
  EXPECT_EQ(0, std::memcmp(row.data(), want.data() + 4 * k, row.size() * 4));
  std::vector<float> rows(static_cast<size_t>(3 * k));
  dequantize_rows(w, 5, 8, rows.data());
  EXPECT_EQ(0, std::memcmp(rows.data(), want.data() + 5 * k, rows.size() * 4));
}

INSTANTIATE_TEST_SUITE_P(AllFormats, FormatTest, ::testing::ValuesIn(all_formats()),
                         format_test_name);

TEST(LinearTest, Fp8NanCodeDecodesToNan) {
  QuantizedTensor w = random_weight(QuantFormat::fp8(QuantKind::fp8_e4m3), 1, 16, 1);
  w.codes.mutable_data()[3] = 0x7F;
  w.codes.mutable_data()[9] = 0xFF;
  const cpu::WeightView v = cpu::make_weight_view(w);
  for (Isa isa : isas()) {
    std::vector<float> out(16);
    cpu::row_kernels(isa).decode_rows(v, 0, 1, out.data());
    EXPECT_TRUE(std::isnan(out[3]) && std::isnan(out[9])) << isa_name(isa);
    EXPECT_FALSE(std::isnan(out[4])) << isa_name(isa);
  }
}

TEST(LinearTest, RejectsBadInput) {
  ExecContext ctx(1);
  const QuantizedTensor w = random_weight(QuantFormat::affine(4, 32, false), 8, 64, 1);
  std::vector<float> x(128), y(16);
  EXPECT_THROW(linear(x.data(), 0, w, nullptr, y.data(), ctx), Error);
  EXPECT_THROW(linear(nullptr, 1, w, nullptr, y.data(), ctx), Error);
  EXPECT_THROW(linear(x.data(), 1, w, nullptr, nullptr, ctx), Error);
  EXPECT_THROW(linear(x.data(), 1, w, nullptr, x.data() + 4, ctx), Error);  // y overlaps x
  QuantizedTensor flat = w;
  flat.shape = {512};
  EXPECT_THROW(linear(x.data(), 1, flat, nullptr, y.data(), ctx), Error);
  QuantizedTensor short_codes = w;
  short_codes.shape = {9, 64};
  EXPECT_THROW(linear(x.data(), 1, short_codes, nullptr, y.data(), ctx), Error);
  QuantizedTensor no_zeros = w;
  no_zeros.zeros = Buffer();
  EXPECT_THROW(linear(x.data(), 1, no_zeros, nullptr, y.data(), ctx), Error);
  QuantizedTensor bad_bits = w;
  bad_bits.format.bits = 9;
  EXPECT_THROW(linear(x.data(), 1, bad_bits, nullptr, y.data(), ctx), Error);
  QuantizedTensor no_nested = random_weight(QuantFormat::nf4(64, true), 4, 64, 1);
  no_nested.nested_scales = Buffer();
  EXPECT_THROW(linear(x.data(), 1, no_nested, nullptr, y.data(), ctx), Error);
  EXPECT_THROW(embedding_lookup(w, 8, y.data()), Error);
  EXPECT_THROW(embedding_lookup(w, -1, y.data()), Error);
  EXPECT_THROW(dequantize_rows(w, 3, 9, y.data()), Error);
  EXPECT_THROW(dequantize_rows(w, 4, 3, y.data()), Error);
}

}  // namespace
}  // namespace lowbit::kernels
