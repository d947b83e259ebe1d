// SPDX-License-Identifier: MIT
// RTN over every built-in scheme: validity, per-element error bounds, idempotence, error
// ordering across bit widths and group sizes, degenerate rows, errors and stored sizes.
#include "quant/rtn.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "quant/scheme.h"
#include "tensor/dequantize.h"
#include "util/error.h"

namespace lowbit::quant {
namespace {

// Llama-like weights: normal with a per-row spread, plus (optionally) a few 12x outliers.
std::vector<float> random_weights(int64_t rows, int64_t cols, uint32_t seed, bool outliers = true) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> row_scale(0.005f, 0.05f);
  std::vector<float> w(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r) {
    const float s = row_scale(rng);
    for (int64_t c = 0; c < cols; ++c) w[static_cast<size_t>(r * cols + c)] = s * normal(rng);
  }
  if (outliers)
    for (int k = 0; k < 8; ++k) w[rng() % w.size()] *= 12.0f;
  return w;
}

double nmse(const std::vector<float>& w, const std::vector<float>& w_hat) {
  double err = 0, ref = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    err += (static_cast<double>(w[i]) - w_hat[i]) * (static_cast<double>(w[i]) - w_hat[i]);
    ref += static_cast<double>(w[i]) * w[i];
  }
  return err / ref;
}

double scheme_nmse(const std::string& scheme, const std::vector<float>& w, int64_t rows,
                   int64_t cols) {
  return nmse(
      w, dequantize_reference(quantize_rtn(w.data(), rows, cols, find_scheme(scheme).format, "w")));
}

bool same_bytes(const Buffer& a, const Buffer& b) {
  return a.size() == b.size() && (a.size() == 0 || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

// Upper bounds on NMSE for N(0, sigma^2) rows. A uniform grid of step d has error variance
// d^2 / 12. Expected extremes: the largest |x| of 128 normals is ~2.7 sigma, of 320 ~3.0
// sigma, and a group of g spans ~5 sigma (g = 128) or ~4 sigma (g = 32). So w8 (step 3.0/127)
// gives 4.7e-5, w4g128 (5/15) 0.009, w4g128-sym (2.7/7) 0.012, w3g128 (5/7) 0.042, w2g32
// (4/3) 0.15. fp8 with M mantissa bits has relative step 2^-M: 2^-2M / 12 (e4m3 1.3e-3, e5m2
// 5.2e-3); NF4 is about as good as a 4-bit uniform grid. Bounds are ~2x the estimates.
double nmse_bound(const std::string& scheme) {
  if (scheme == "f32") return 0.0;
  // Rounding to M mantissa bits: one step is at most 2^-M |x|, so variance <= 2^-2M / 12.
  if (scheme == "f16") return 1.5 * 0x1p-20 / 12;
  if (scheme == "bf16") return 1.5 * 0x1p-14 / 12;
  if (scheme == "w8") return 1e-4;
  if (scheme == "w4g128-sym") return 0.025;
  if (scheme.starts_with("w4")) return 0.02;
  if (scheme.starts_with("w3")) return 0.08;
  if (scheme.starts_with("w2")) return 0.3;
  if (scheme == "fp8") return 3e-3;
  if (scheme == "fp8-e5m2") return 1e-2;
  return 0.02;  // nf4, nf4-dq
}

TEST(Rtn, EveryBuiltinSchemeValidatesAndMeetsItsErrorBound) {
  const int64_t rows = 48, cols = 320;
  const std::vector<float> w = random_weights(rows, cols, 1, /*outliers=*/false);
  for (const Scheme& s : builtin_schemes()) {
    const QuantizedTensor t = quantize_rtn(w.data(), rows, cols, s.format, "blk.0.wq");
    EXPECT_NO_THROW(t.validate("blk.0.wq")) << s.name;
    EXPECT_EQ(t.format, s.format) << s.name;
    EXPECT_EQ(t.shape, (Shape{rows, cols})) << s.name;
    const std::vector<float> w_hat = dequantize_reference(t);
    for (float v : w_hat) ASSERT_TRUE(std::isfinite(v)) << s.name;
    EXPECT_LE(nmse(w, w_hat), nmse_bound(s.name)) << s.name;
  }
}

// Inside a group's grid every weight is within half a step of a code. The asymmetric f16 scale
// s is rounded toward zero from the exact s0 = range / levels, so the grid can fall short of
// the range end by at most half a step plus levels * (s0 - s) <= levels * 2^-10 * s; the
// symmetric one is RNE, off by levels * 2^-11 * s. One slack covers both.
void expect_affine_error_bound(const QuantizedTensor& t, const std::vector<float>& w,
                               const std::string& what) {
  const QuantFormat& f = t.format;
  const std::vector<float> w_hat = dequantize_reference(t);
  const double levels = (1 << f.bits) - 1;
  for (int64_t r = 0; r < t.rows(); ++r)
    for (int64_t c = 0; c < t.cols(); ++c) {
      const size_t i = static_cast<size_t>(r * t.cols() + c);
      const double s = scale_at(t, scale_index(f, t.cols(), r, c));
      const double bound = s / 2 + levels * s * 0x1p-10 + 1e-6 * std::fabs(w[i]);
      ASSERT_LE(std::fabs(static_cast<double>(w[i]) - w_hat[i]), bound)
          << what << " row " << r << " column " << c << " scale " << s;
    }
}

TEST(Rtn, AffineErrorIsWithinHalfAStep) {
  const int64_t rows = 32, cols = 200;  // cols = 200 makes g128 and g64 groups ragged
  const std::vector<float> w = random_weights(rows, cols, 2);
  std::vector<QuantFormat> formats;
  for (const Scheme& s : builtin_schemes())
    if (s.format.kind == QuantKind::affine_int) formats.push_back(s.format);
  formats.push_back(QuantFormat::affine(8, 64, false));
  formats.push_back(QuantFormat::affine(2, kPerTensor, true));
  formats.push_back(QuantFormat::affine(5, kPerChannel, false));
  QuantFormat f32_scales = QuantFormat::affine(4, 32, false);
  f32_scales.scale_dtype = DType::f32;
  formats.push_back(f32_scales);
  for (const QuantFormat& f : formats)
    expect_affine_error_bound(quantize_rtn(w.data(), rows, cols, f, "w"), w, format_name(f));
}

// Quantizing the decoded weights again must give back the same bytes: the grids put the
// group's extreme weights exactly on codes, so the decoded group has the same grid.
TEST(Rtn, RequantizingTheDecodedWeightsIsIdentity) {
  const int64_t rows = 64, cols = 384;
  const std::vector<float> w = random_weights(rows, cols, 3);
  for (const Scheme& s : builtin_schemes()) {
    if (s.name == "nf4-dq") continue;  // see the next test
    const QuantizedTensor t = quantize_rtn(w.data(), rows, cols, s.format, "w");
    const std::vector<float> w_hat = dequantize_reference(t);
    const QuantizedTensor again = quantize_rtn(w_hat.data(), rows, cols, s.format, "w");
    EXPECT_TRUE(same_bytes(t.codes, again.codes)) << s.name;
    EXPECT_TRUE(same_bytes(t.scales, again.scales)) << s.name;
    EXPECT_TRUE(same_bytes(t.zeros, again.zeros)) << s.name;
    EXPECT_EQ(dequantize_reference(again), w_hat) << s.name;
  }
}

// Double quantization is not exactly idempotent: the decoded absmax values sit on the nested
// grid, their mean (the new offset) differs from the old one, so the nested grid moves. The
// second pass still only perturbs the weights by about one nested step.
TEST(Rtn, DoubleQuantRequantizationStaysClose) {
  const int64_t rows = 64, cols = 384;
  const std::vector<float> w = random_weights(rows, cols, 3);
  const QuantFormat f = find_scheme("nf4-dq").format;
  const std::vector<float> once = dequantize_reference(quantize_rtn(w.data(), rows, cols, f, "w"));
  const std::vector<float> twice =
      dequantize_reference(quantize_rtn(once.data(), rows, cols, f, "w"));
  EXPECT_LT(nmse(once, twice), 0.1 * nmse(w, once));
}

TEST(Rtn, ErrorFallsAsBitsRiseAndGroupsShrink) {
  const int64_t rows = 64, cols = 1024;
  const std::vector<float> w = random_weights(rows, cols, 4);
  auto e = [&](const char* scheme) { return scheme_nmse(scheme, w, rows, cols); };
  EXPECT_LT(e("f16"), e("bf16"));
  EXPECT_LT(e("bf16"), e("w8"));
  EXPECT_LT(e("w8"), e("w4g128"));
  EXPECT_LT(e("w4g128"), e("w3g128"));
  EXPECT_LT(e("w3g32"), e("w2g32"));
  EXPECT_LT(e("w4g32"), e("w4g64"));
  EXPECT_LT(e("w4g64"), e("w4g128"));
  EXPECT_LT(e("w3g32"), e("w3g64"));
  EXPECT_LT(e("w3g64"), e("w3g128"));
  EXPECT_LT(e("fp8"), e("fp8-e5m2"));
  EXPECT_LT(e("nf4"), e("w3g64"));
  EXPECT_LT(e("nf4"), e("nf4-dq") * 1.02);  // dq costs at most a little accuracy
}

TEST(Rtn, RaggedLastGroupUsesOnlyItsOwnColumns) {
  // Row: 128 columns in [-1, 1], then a ragged group of 72 columns in [-0.01, 0.02].
  const int64_t cols = 200;
  std::vector<float> w(cols);
  for (int64_t c = 0; c < 128; ++c) w[c] = std::sin(0.37f * static_cast<float>(c));
  for (int64_t c = 128; c < cols; ++c) w[c] = -0.01f + 0.03f * static_cast<float>(c - 128) / 71;
  const QuantizedTensor t =
      quantize_rtn(w.data(), 1, cols, QuantFormat::affine(4, 128, false), "w");
  ASSERT_EQ(t.scale_count(), 2);
  const double exact = (0.02 - -0.01) / 15;  // the ragged group's own range over 15 levels
  EXPECT_LE(scale_at(t, 1), exact);
  EXPECT_GE(scale_at(t, 1), exact * (1 - 0x1p-10));
  expect_affine_error_bound(t, w, "ragged");
}

TEST(Rtn, GroupWiderThanRowIsOneGroupPerRow) {
  const int64_t rows = 5, cols = 40;
  const std::vector<float> w = random_weights(rows, cols, 5);
  for (const QuantFormat& f : {QuantFormat::affine(4, 256, false), QuantFormat::nf4(64, false),
                               QuantFormat::nf4(64, true)}) {
    const QuantizedTensor t = quantize_rtn(w.data(), rows, cols, f, "w");
    EXPECT_EQ(t.scale_count(), rows) << format_name(f);
    EXPECT_NO_THROW(t.validate("w"));
    EXPECT_LT(nmse(w, dequantize_reference(t)), 0.03) << format_name(f);
  }
}

TEST(Rtn, PerTensorHasOneScaleFromTheGlobalRange) {
  const int64_t rows = 16, cols = 64;
  const std::vector<float> w = random_weights(rows, cols, 6);
  float lo = 0, hi = 0, amax = 0;
  for (float v : w) {
    lo = std::fmin(lo, v);
    hi = std::fmax(hi, v);
    amax = std::fmax(amax, std::fabs(v));
  }
  const QuantizedTensor t =
      quantize_rtn(w.data(), rows, cols, QuantFormat::affine(8, kPerTensor, false), "w");
  ASSERT_EQ(t.scale_count(), 1);
  const double exact = (static_cast<double>(hi) - lo) / 255;
  EXPECT_LE(scale_at(t, 0), exact);
  EXPECT_GE(scale_at(t, 0), exact * (1 - 0x1p-10));
  expect_affine_error_bound(t, w, "per-tensor");
  const QuantizedTensor f8 =
      quantize_rtn(w.data(), rows, cols, QuantFormat::fp8(QuantKind::fp8_e4m3, kPerTensor), "w");
  ASSERT_EQ(f8.scale_count(), 1);
  EXPECT_EQ(scale_at(f8, 0), amax / 448.0f);
}

// Every scheme on a tensor whose rows are: random, all zero, +c, -c, tiny (1e-30 scale),
// f32-denormal. Zero rows decode to exact zeros, constant rows to within 2^-8 relative,
// tiny rows to within their own magnitude, and no scale is zero, denormal or non-finite.
TEST(Rtn, DegenerateRowsDecodeFiniteAndExactWhereZero) {
  const int64_t cols = 96;
  std::vector<float> w = random_weights(6, cols, 7);
  for (int64_t c = 0; c < cols; ++c) {
    w[static_cast<size_t>(1 * cols + c)] = 0.0f;
    w[static_cast<size_t>(2 * cols + c)] = 0.37f;
    w[static_cast<size_t>(3 * cols + c)] = -0.37f;
    w[static_cast<size_t>(4 * cols + c)] = 1e-30f * std::cos(static_cast<float>(c));
    w[static_cast<size_t>(5 * cols + c)] = 1e-40f * static_cast<float>(c % 3);
  }
  for (const Scheme& s : builtin_schemes()) {
    const QuantizedTensor t = quantize_rtn(w.data(), 6, cols, s.format, "w");
    const std::vector<float> w_hat = dequantize_reference(t);
    for (int64_t i = 0; i < t.scale_count(); ++i) {
      const float scale = scale_at(t, i);
      EXPECT_TRUE(std::isfinite(scale)) << s.name << " scale " << i;
      // NF4 stores the true block absmax (0 for the zero row); the scaled formats never
      // store 0 or an f32 denormal.
      if (s.format.kind == QuantKind::nf4) {
        EXPECT_GE(scale, 0.0f) << s.name;
      } else {
        EXPECT_GE(scale, s.format.scale_dtype == DType::f16 ? 0x1p-24f : FLT_MIN) << s.name;
      }
    }
    for (int64_t c = 0; c < cols; ++c) {
      auto at = [&](int64_t r) { return static_cast<size_t>(r * cols + c); };
      ASSERT_EQ(w_hat[at(1)], 0.0f) << s.name;
      EXPECT_NEAR(w_hat[at(2)], 0.37f, 0.37f * 0x1p-8) << s.name;
      EXPECT_NEAR(w_hat[at(3)], -0.37f, 0.37f * 0x1p-8) << s.name;
      EXPECT_LE(std::fabs(w_hat[at(4)] - w[at(4)]), 1e-30f) << s.name;
      EXPECT_LE(std::fabs(w_hat[at(5)] - w[at(5)]), 2e-40f) << s.name;
    }
  }
}

TEST(Rtn, AllZeroTensorGetsUnitScalesAndZeroDecode) {
  const std::vector<float> w(4 * 70, 0.0f);
  for (const Scheme& s : builtin_schemes()) {
    const QuantizedTensor t = quantize_rtn(w.data(), 4, 70, s.format, "w");
    EXPECT_EQ(dequantize_reference(t), w) << s.name;
    if (s.format.kind == QuantKind::affine_int || s.format.kind == QuantKind::fp8_e4m3) {
      for (int64_t i = 0; i < t.scale_count(); ++i) EXPECT_EQ(scale_at(t, i), 1.0f) << s.name;
    }
  }
}

TEST(Rtn, NonFiniteWeightsAreRejectedNamingTheTensor) {
  for (float bad : {NAN, INFINITY, -INFINITY}) {
    std::vector<float> w = random_weights(4, 10, 8);
    w[2 * 10 + 5] = bad;
    for (const Scheme& s : builtin_schemes()) {
      try {
        quantize_rtn(w.data(), 4, 10, s.format, "blk.3.ffn_up");
        ADD_FAILURE() << s.name << " accepted " << bad;
      } catch (const InvalidArgument& e) {
        EXPECT_STREQ(e.what(), "tensor blk.3.ffn_up: non-finite weight at row 2, column 5");
      }
    }
  }
}

TEST(Rtn, WeightsBeyondF16AreRejectedWhereF16IsStored) {
  std::vector<float> w(8, 0.5f);
  w[3] = 70000.0f;
  EXPECT_THROW(quantize_rtn(w.data(), 2, 4, find_scheme("f16").format, "big"), InvalidArgument);
  EXPECT_THROW(quantize_rtn(w.data(), 2, 4, find_scheme("w4g128").format, "big"), InvalidArgument);
  EXPECT_NO_THROW(quantize_rtn(w.data(), 2, 4, find_scheme("bf16").format, "big"));
  EXPECT_NO_THROW(quantize_rtn(w.data(), 2, 4, find_scheme("fp8").format, "big"));
  EXPECT_THROW(quantize_rtn(w.data(), 0, 4, find_scheme("w8").format, "empty"), InvalidArgument);
  EXPECT_THROW(quantize_rtn(w.data(), 2, 4, QuantFormat::affine(9, 32, false), "bad"),
               InvalidArgument);
}

size_t stored_bytes(const QuantizedTensor& t) {
  return t.codes.size() + t.scales.size() + t.zeros.size() + t.nested_scales.size() +
         (t.format.double_quant ? sizeof(float) : 0);
}

TEST(Rtn, StoredSizesMatchTheory) {
  const int64_t rows = 8, cols = 4096;
  const std::vector<float> w = random_weights(rows, cols, 9);
  const double n = static_cast<double>(rows * cols);
  struct Case {
    const char* scheme;
    double bits;  // codes + scales (+ zeros, nested scales and offset), per weight
  };
  const Case cases[] = {
      {"w4g128", 4 + 16.0 / 128 + 16.0 / 128},  // = 4.25
      {"w4g128-sym", 4 + 16.0 / 128},
      {"w3g64", 3 + 32.0 / 64},
      {"w8", 8 + 16.0 / cols},
      {"nf4", 4 + 32.0 / 64},                                 // = 4.5
      {"nf4-dq", 4 + 8.0 / 64 + 32.0 / (64 * 256) + 32 / n},  // ~ 4.127
      {"fp8", 8 + 32.0 / cols},
      {"bf16", 16},
      {"f32", 32},
  };
  for (const Case& c : cases) {
    const QuantizedTensor t = quantize_rtn(w.data(), rows, cols, find_scheme(c.scheme).format, "w");
    EXPECT_EQ(stored_bytes(t), t.storage_bytes()) << c.scheme;
    EXPECT_DOUBLE_EQ(t.bits_per_weight(), c.bits) << c.scheme;
    EXPECT_DOUBLE_EQ(8.0 * static_cast<double>(stored_bytes(t)) / n, c.bits) << c.scheme;
  }
  EXPECT_DOUBLE_EQ(bits_per_weight(find_scheme("w4g128").format, 4096, 4096), 4.25);
}

}  // namespace
}  // namespace lowbit::quant
