// SPDX-License-Identifier: MIT
// kernels::linear with quantized activations (QuantizedTensor::act): the int8 kinds equal the
// integer product of the quantized operands exactly on every Isa and thread count, LLM.int8()
// adds its outlier columns in f32, fp8 inputs are the e4m3 values of the input.
#include <gtest/gtest.h>

#include "testing/kernel_cases.h"

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/cpu/int8_gemm.h"
#include "kernels/kernels.h"
#include "numerics/fp8.h"
#include "numerics/half.h"
#include "util/error.h"

namespace lowbit::kernels {
namespace {

using testing::isas;

// An int8 symmetric weight with random codes (per-channel f16 scales, or one per tensor).
QuantizedTensor int8_weight(int64_t n, int64_t k, bool per_tensor, uint32_t seed) {
  std::mt19937 rng(seed);
  QuantizedTensor w;
  w.format = QuantFormat::affine(8, per_tensor ? kPerTensor : kPerChannel, true);
  w.shape = {n, k};
  w.codes = Buffer::allocate(static_cast<size_t>(n * k));
  for (int64_t i = 0; i < n * k; ++i)
    w.codes.mutable_data()[i] = static_cast<uint8_t>(rng() & 0xFF);
  const int64_t scales = per_tensor ? 1 : n;
  w.scales = Buffer::allocate(static_cast<size_t>(2 * scales));
  std::uniform_real_distribution<float> u(0.001f, 0.01f);
  for (int64_t i = 0; i < scales; ++i) {
    const uint16_t h = f32_to_f16(u(rng));
    std::memcpy(w.scales.mutable_data() + 2 * i, &h, 2);
  }
  return w;
}

std::vector<float> activations(int64_t m, int64_t k, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(m * k));
  for (float& v : x) v = normal(rng);
  return x;
}

float weight_scale(const QuantizedTensor& w, int64_t row) {
  uint16_t h;
  const int64_t i = w.format.group_size == kPerTensor ? 0 : row;
  std::memcpy(&h, w.scales.data() + 2 * i, 2);
  return f16_to_f32(h);
}

// The definition: activations quantized by the scalar quantizer, exact integer sums, then
// float(acc) * a_scale * w_scale (+ bias), as int8_gemm.h specifies.
std::vector<float> expected_int8(const std::vector<float>& x, int64_t m, const QuantizedTensor& w,
                                 float static_scale, const float* bias) {
  const int64_t n = w.rows(), k = w.cols();
  std::vector<int8_t> q(static_cast<size_t>(m * k));
  std::vector<float> scales(static_cast<size_t>(m));
  std::vector<int32_t> sums(static_cast<size_t>(m));
  cpu::quantize_rows_s8(x.data(), m, k, static_scale, q.data(), scales.data(), sums.data());
  std::vector<float> y(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      int64_t acc = 0;
      for (int64_t t = 0; t < k; ++t)
        acc +=
            int64_t{q[static_cast<size_t>(i * k + t)]} * (int64_t{w.codes.data()[j * k + t]} - 128);
      float v = static_cast<float>(acc) * scales[static_cast<size_t>(i)] * weight_scale(w, j);
      if (bias != nullptr) v += bias[j];
      y[static_cast<size_t>(i * n + j)] = v;
    }
  return y;
}

TEST(W8A8Linear, PerTokenStaticAndPerTensorEqualTheIntegerProductOnEveryIsaAndThreadCount) {
  for (const int64_t m : {1, 5, 70}) {
    const int64_t n = 67, k = 203;
    const std::vector<float> x = activations(m, k, 7 + static_cast<uint32_t>(m));
    std::vector<float> bias(static_cast<size_t>(n));
    for (int64_t j = 0; j < n; ++j) bias[static_cast<size_t>(j)] = 0.01f * static_cast<float>(j);
    float amax = 0;
    for (const float v : x) amax = std::max(amax, std::fabs(v));
    for (const bool per_tensor : {false, true}) {
      QuantizedTensor w = int8_weight(n, k, per_tensor, 3);
      struct Case {
        ActivationQuant act;
        float static_scale;  // what the definition quantizes with (0: per row)
      };
      const Case cases[] = {
          {{ActQuantKind::int8_token}, 0.0f},
          {{ActQuantKind::int8_tensor_static, 0.011f}, 0.011f},  // saturates the largest |x|
          {{ActQuantKind::int8_tensor_dynamic}, amax / 127.0f},
      };
      for (const Case& c : cases) {
        w.act = c.act;
        const std::vector<float> want = expected_int8(x, m, w, c.static_scale, bias.data());
        for (const Isa isa : isas())
          for (const int threads : {1, 3}) {
            SCOPED_TRACE(::testing::Message() << "m " << m << " per_tensor " << per_tensor << " "
                                              << act_quant_name(c.act.kind) << " isa "
                                              << isa_name(isa) << " threads " << threads);
            ExecContext ctx(threads);
            ctx.isa = isa;
            std::vector<float> y(static_cast<size_t>(m * n));
            linear(x.data(), m, w, bias.data(), y.data(), ctx);
            EXPECT_EQ(y, want);
          }
      }
    }
  }
}

TEST(W8A8Linear, OutlierSplitRoutesColumnsAtTheThresholdThroughF32) {
  const int64_t m = 3, n = 9, k = 64;
  std::vector<float> x = activations(m, k, 11);
  for (float& v : x) v = std::clamp(v, -2.0f, 2.0f);
  x[static_cast<size_t>(1 * k + 5)] = 40.0f;   // column 5: one row far above the threshold
  x[static_cast<size_t>(2 * k + 17)] = -6.0f;  // column 17: exactly at it
  QuantizedTensor w = int8_weight(n, k, false, 5);
  w.act = {ActQuantKind::int8_outlier_split, 0.0f, 6.0f};
  // Definition: the other columns as int8 per token, plus the routed columns in f32 against
  // the dequantized weights.
  std::vector<float> inliers = x;
  for (int64_t i = 0; i < m; ++i)
    inliers[static_cast<size_t>(i * k + 5)] = inliers[static_cast<size_t>(i * k + 17)] = 0.0f;
  QuantizedTensor plain = w;
  plain.act = {ActQuantKind::int8_token};
  std::vector<float> want = expected_int8(inliers, m, plain, 0.0f, nullptr);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      float sum = 0;
      for (const int64_t c : {5, 17})
        sum += x[static_cast<size_t>(i * k + c)] *
               (weight_scale(w, j) * (static_cast<float>(w.codes.data()[j * k + c]) - 128.0f));
      want[static_cast<size_t>(i * n + j)] += sum;
    }
  for (const Isa isa : isas()) {
    ExecContext ctx(2);
    ctx.isa = isa;
    std::vector<float> y(static_cast<size_t>(m * n));
    linear(x.data(), m, w, nullptr, y.data(), ctx);
    EXPECT_EQ(y, want) << isa_name(isa);
    EXPECT_EQ(ctx.stats.outlier_split_calls, 1);
    EXPECT_EQ(ctx.stats.outlier_split_columns, k);
    EXPECT_EQ(ctx.stats.outlier_split_routed, 2);
  }
  // The split is why LLM.int8() keeps outliers exact: per-token int8 of the same input is worse.
  ExecContext ctx(1);
  std::vector<float> split(static_cast<size_t>(m * n)), token(static_cast<size_t>(m * n)),
      exact(static_cast<size_t>(m * n));
  linear(x.data(), m, w, nullptr, split.data(), ctx);
  linear(x.data(), m, plain, nullptr, token.data(), ctx);
  QuantizedTensor weight_only = w;
  weight_only.act = {};
  linear(x.data(), m, weight_only, nullptr, exact.data(), ctx);
  double e_split = 0, e_token = 0;
  for (size_t i = 0; i < exact.size(); ++i) {
    e_split += std::pow(split[i] - exact[i], 2);
    e_token += std::pow(token[i] - exact[i], 2);
  }
  EXPECT_LT(e_split * 10, e_token);
}

TEST(W8A8Linear, Fp8InputsAreTheE4m3ValuesOfTheInput) {
  const int64_t m = 4, n = 13, k = 40;
  std::vector<float> x = activations(m, k, 21);
  x[3] = 300.0f;  // row 0's scale is set by this value
  QuantizedTensor w = int8_weight(n, k, false, 8);
  QuantizedTensor dense = QuantizedTensor::from_f32(kernels::dequantize_all(w).data(), {n, k});
  for (const ActivationQuant act : {ActivationQuant{ActQuantKind::fp8_token},
                                    ActivationQuant{ActQuantKind::fp8_tensor_static, 0.25f}}) {
    std::vector<float> rounded(x.size());
    for (int64_t i = 0; i < m; ++i) {
      float amax = 0;
      for (int64_t j = 0; j < k; ++j)
        amax = std::max(amax, std::fabs(x[static_cast<size_t>(i * k + j)]));
      const float scale = act.is_static() ? act.scale : amax / kE4M3Max;
      for (int64_t j = 0; j < k; ++j) {
        const size_t at = static_cast<size_t>(i * k + j);
        rounded[at] = e4m3_to_f32(f32_to_e4m3(x[at] * (1.0f / scale))) * scale;
      }
    }
    ExecContext ctx(2);
    std::vector<float> want(static_cast<size_t>(m * n)), got(static_cast<size_t>(m * n));
    linear(rounded.data(), m, dense, nullptr, want.data(), ctx);
    dense.act = act;
    linear(x.data(), m, dense, nullptr, got.data(), ctx);
    dense.act = {};
    EXPECT_EQ(got, want) << act_quant_name(act.kind);
  }
}

TEST(W8A8Linear, RefusesActivationKindsTheWeightCannotRun) {
  ExecContext ctx(1);
  std::vector<float> x(64, 1.0f), y(8);
  QuantizedTensor w4 = QuantizedTensor::from_f32(std::vector<float>(8 * 64, 0.5f).data(), {8, 64});
  w4.act = {ActQuantKind::int8_token};
  EXPECT_THROW(linear(x.data(), 1, w4, nullptr, y.data(), ctx), InvalidArgument);
  QuantizedTensor w8 = int8_weight(8, 64, false, 1);
  w8.act = {ActQuantKind::int8_tensor_static, 0.0f};  // a static kind without its scale
  EXPECT_THROW(linear(x.data(), 1, w8, nullptr, y.data(), ctx), InvalidArgument);
  w8.act = {ActQuantKind::int8_outlier_split, 0.0f, std::nanf("")};
  EXPECT_THROW(linear(x.data(), 1, w8, nullptr, y.data(), ctx), InvalidArgument);
}

}  // namespace
}  // namespace lowbit::kernels
