// SPDX-License-Identifier: MIT
// NF4 codebook properties and nearest-code search against a brute-force search in double.
#include "numerics/nf4.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace lowbit {
namespace {

// Brute force: the code minimizing |x - value| in double, the lower code on ties.
uint8_t nearest_by_search(float x) {
  const double v = std::fmax(-1.0, std::fmin(1.0, static_cast<double>(x)));
  int best = 0;
  for (int i = 1; i < 16; ++i)
    if (std::fabs(v - kNf4Codebook[i]) < std::fabs(v - kNf4Codebook[best])) best = i;
  return static_cast<uint8_t>(best);
}

TEST(Nf4, CodebookIsSortedSpansUnitIntervalAndHasExactZero) {
  for (int i = 0; i + 1 < 16; ++i) EXPECT_LT(kNf4Codebook[i], kNf4Codebook[i + 1]) << i;
  EXPECT_EQ(kNf4Codebook[0], -1.0f);
  EXPECT_EQ(kNf4Codebook[7], 0.0f);
  EXPECT_EQ(kNf4Codebook[15], 1.0f);
}

TEST(Nf4, EachCodebookValueMapsToItsCode) {
  for (int i = 0; i < 16; ++i) EXPECT_EQ(nf4_nearest(kNf4Codebook[i]), i);
}

TEST(Nf4, MidpointsGoToTheLowerCodeAndNeighboursToTheNearer) {
  for (int i = 0; i + 1 < 16; ++i) {
    const double exact = (static_cast<double>(kNf4Codebook[i]) + kNf4Codebook[i + 1]) / 2;
    const auto mid = static_cast<float>(exact);
    EXPECT_EQ(nf4_nearest(mid), nearest_by_search(mid)) << i;
    const float below = std::nextafter(mid, -2.0f);
    const float above = std::nextafter(mid, 2.0f);
    EXPECT_EQ(nf4_nearest(below), i) << i;
    EXPECT_EQ(nf4_nearest(above), i + 1) << i;
    if (static_cast<double>(mid) == exact) {
      EXPECT_EQ(nf4_nearest(mid), i) << "exact tie " << i;
    }
  }
}

TEST(Nf4, OutOfRangeClampsAndMatchesSearchOnRandomValues) {
  EXPECT_EQ(nf4_nearest(2.0f), 15);
  EXPECT_EQ(nf4_nearest(-3.0f), 0);
  EXPECT_EQ(nf4_nearest(INFINITY), 15);
  EXPECT_EQ(nf4_nearest(-INFINITY), 0);
  EXPECT_EQ(nf4_nearest(NAN), 7);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.2f, 1.2f);
  for (int k = 0; k < 100000; ++k) {
    const float x = dist(rng);
    ASSERT_EQ(nf4_nearest(x), nearest_by_search(x)) << x;
  }
}

}  // namespace
}  // namespace lowbit
