// SPDX-License-Identifier: MIT
// AWQ on synthetic layers whose inputs have a few outlier channels: the scale and clip
// searches beat RTN on held-out inputs, r = 0 is exactly RTN, scaling is exactly undone by
// the folded inputs, and the error paths.
#include "quant/awq.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "layer_fixtures.h"
#include "quant/rtn.h"
#include "tensor/dequantize.h"
#include "util/error.h"

namespace lowbit::quant {
namespace {

using testing::output_error;
using testing::random_weights;

// Normal inputs [n, cols] with `outliers` channels 30x larger (the salient channels AWQ keeps).
std::vector<float> outlier_inputs(int64_t n, int64_t cols, int outliers, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n * cols));
  for (auto& v : x) v = normal(rng);
  for (int k = 0; k < outliers; ++k) {
    const int64_t c = (k * 53 + 11) % cols;
    for (int64_t t = 0; t < n; ++t) x[t * cols + c] *= 30.0f;
  }
  return x;
}

// The stored weights Q(W·diag(s)) back in the original input space.
std::vector<float> unscale(const QuantizedTensor& q, const std::vector<float>& s) {
  std::vector<float> w = dequantize_reference(q);
  const int64_t cols = q.cols();
  for (size_t i = 0; i < w.size(); ++i) w[i] /= s[i % static_cast<size_t>(cols)];
  return w;
}

struct GroupSetup {
  int64_t cols = 256, n = 256;
  std::vector<std::vector<float>> w;
  std::vector<AwqLinear> linears;
  std::vector<float> x, x_test;
};

GroupSetup make_setup(uint32_t seed) {
  GroupSetup s;
  const int64_t rows[] = {64, 32, 32};  // a q/k/v-like group
  for (int i = 0; i < 3; ++i) s.w.push_back(random_weights(rows[i], s.cols, seed * 10 + i));
  for (int i = 0; i < 3; ++i)
    s.linears.push_back({"blk.0.w" + std::to_string(i), s.w[i].data(), rows[i], i == 2});
  s.x = outlier_inputs(s.n, s.cols, 4, seed + 100);
  // Held-out rows: fresh normals, the same outlier channels.
  std::mt19937 rng(seed + 999);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  s.x_test.resize(s.x.size());
  for (size_t i = 0; i < s.x_test.size(); ++i) {
    const int64_t c = static_cast<int64_t>(i) % s.cols;
    const bool outlier = c == 11 || c == 64 || c == 117 || c == 170;  // (k * 53 + 11) % cols
    s.x_test[i] = normal(rng) * (outlier ? 30.0f : 1.0f);
  }
  return s;
}

TEST(Awq, OutputErrorIsBelowRtnWithOutlierChannels) {
  for (uint32_t seed : {1u, 2u}) {
    const GroupSetup s = make_setup(seed);
    for (const auto& [bits, group] : {std::pair{4, 128}, {3, 128}, {3, 64}, {2, 64}}) {
      const QuantFormat f = QuantFormat::affine(bits, group, false);
      AwqOptions o;
      const AwqGroupResult r = quantize_awq_group(s.linears, s.cols, s.x.data(), s.n, f, o);
      EXPECT_GT(r.search.ratio, 0.0) << format_name(f);
      EXPECT_LT(r.search.error, r.search.error_rtn) << format_name(f);
      double awq = 0, rtn = 0;
      for (size_t i = 0; i < s.linears.size(); ++i) {
        const AwqLinear& l = s.linears[i];
        awq += output_error(s.w[i], unscale(r.weights[i], r.search.scales), s.x_test, l.rows,
                            s.cols, s.n);
        rtn += output_error(s.w[i], quantize_rtn(l.w, l.rows, s.cols, f, l.name), s.x_test, s.n);
      }
      EXPECT_LT(awq, 0.8 * rtn) << "seed " << seed << " " << format_name(f);
      if (seed == 1)
        std::printf("awq/rtn held-out output error, %s: %.3f (ratio r = %.2f)\n",
                    format_name(f).c_str(), awq / rtn, r.search.ratio);
    }
  }
}

TEST(Awq, RatioZeroIsRtnAndScalesAreNormalized) {
  const GroupSetup s = make_setup(3);
  const QuantFormat f = QuantFormat::affine(4, 64, false);
  const std::vector<float> stat = channel_abs_mean(s.x.data(), s.n, s.cols);
  const AwqCandidateError loss = awq_output_error(s.linears, s.cols, s.x.data(), s.n);
  AwqOptions one_point;
  one_point.n_grid = 1;  // r = 0 only
  const AwqScaleSearch r0 = awq_search_scales(s.linears, s.cols, stat.data(), f, loss, one_point);
  double rtn = 0;
  for (size_t i = 0; i < s.linears.size(); ++i)
    rtn += output_error(s.w[i], quantize_rtn(s.w[i].data(), s.linears[i].rows, s.cols, f, "t"), s.x,
                        s.n);
  EXPECT_EQ(r0.ratio, 0.0);
  for (float v : r0.scales) EXPECT_EQ(v, 1.0f);
  EXPECT_NEAR(r0.error_rtn, rtn, 1e-3 * rtn);
  const AwqScaleSearch full = awq_search_scales(s.linears, s.cols, stat.data(), f, loss, {});
  const auto [lo, hi] = std::minmax_element(full.scales.begin(), full.scales.end());
  EXPECT_NEAR(static_cast<double>(*lo) * *hi, 1.0, 1e-5);  // s / sqrt(max · min)
  EXPECT_GT(*hi, 1.5f);
  EXPECT_LE(full.error, r0.error);
}

TEST(Awq, ClipSearchOnlyShrinksAndHelps) {
  const GroupSetup s = make_setup(4);
  const AwqLinear& l = s.linears[0];
  for (int bits : {3, 2}) {
    const QuantFormat f = QuantFormat::affine(bits, 64, false);
    const std::vector<float> clipped = awq_clip(l.w, l.rows, s.cols, s.x.data(), s.n, f, {});
    int changed = 0;
    for (size_t i = 0; i < clipped.size(); ++i) {
      EXPECT_LE(std::fabs(clipped[i]), std::fabs(s.w[0][i]));
      changed += clipped[i] != s.w[0][i];
    }
    EXPECT_GT(changed, 0);
    const double with_clip =
        output_error(s.w[0], quantize_rtn(clipped.data(), l.rows, s.cols, f, "t"), s.x_test, s.n);
    const double plain =
        output_error(s.w[0], quantize_rtn(l.w, l.rows, s.cols, f, "t"), s.x_test, s.n);
    EXPECT_LT(with_clip, plain) << bits;
  }
  // The flag: linears with clip = false get plain RTN of the scaled weights.
  const QuantFormat f = QuantFormat::affine(4, 64, false);
  const AwqGroupResult r = quantize_awq_group(s.linears, s.cols, s.x.data(), s.n, f, {});
  std::vector<float> scaled(s.w[0]);
  for (size_t i = 0; i < scaled.size(); ++i) scaled[i] *= r.search.scales[i % s.cols];
  const QuantizedTensor plain = quantize_rtn(scaled.data(), l.rows, s.cols, f, "t");
  EXPECT_EQ(dequantize_reference(plain), dequantize_reference(r.weights[0]));
}

TEST(Awq, BadInputIsRejectedNamingTheLayer) {
  GroupSetup s = make_setup(5);
  try {
    quantize_awq_group(s.linears, s.cols, s.x.data(), s.n, QuantFormat::nf4(), {});
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("blk.0.w0"), std::string::npos) << e.what();
  }
  s.x[7] = std::nanf("");
  EXPECT_THROW(
      quantize_awq_group(s.linears, s.cols, s.x.data(), s.n, QuantFormat::affine(4, 64, false), {}),
      InvalidArgument);
}

}  // namespace
}  // namespace lowbit::quant
