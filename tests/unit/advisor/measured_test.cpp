// SPDX-License-Identifier: MIT
// Reading --measured files and classifying measured KL / perplexity into loss classes.
#include "advisor/measured.h"

#include <gtest/gtest.h>

#include <fstream>

#include "testing/test_data.h"
#include "util/error.h"

namespace lowbit::advisor {
namespace {

using nlohmann::json;

TEST(Measured, ClassifiesKlByThresholds) {
  const MeasuredQuality m = parse_measured(json::parse(R"([
      {"scheme": "fp8", "kld": 0.0004}, {"scheme": "w8", "kl_divergence": 0.008},
      {"scheme": "w4g128", "mean_kld": 0.03}, {"scheme": "w2g32", "kl": 0.9}])"),
                                           "r.json");
  EXPECT_EQ(m.loss_class("fp8"), QualityBudget::zero);
  EXPECT_EQ(m.loss_class("w8"), QualityBudget::small);
  EXPECT_EQ(m.loss_class("w4g128"), QualityBudget::moderate);
  EXPECT_EQ(m.loss_class("w2g32"), QualityBudget::large);
  EXPECT_FALSE(m.loss_class("nf4").has_value());
}

TEST(Measured, UsesPerplexityAgainstTheReference) {
  // `lowbit eval --json` results: ppl plus the unquantized model's baseline_ppl.
  const MeasuredQuality m = parse_measured(json::parse(R"([
      {"scheme": "w4g128", "ppl": 5.60, "baseline_ppl": 5.47},
      {"scheme": "w8", "ppl": 5.48}])"),
                                           "eval.json");
  ASSERT_TRUE(m.reference_perplexity.has_value());
  EXPECT_DOUBLE_EQ(*m.reference_perplexity, 5.47);
  EXPECT_EQ(m.loss_class("w4g128"), QualityBudget::moderate);  // +2.4%
  EXPECT_EQ(m.loss_class("w8"), QualityBudget::small);         // +0.18%
  EXPECT_NE(m.describe("w4g128").find("+2.4% over 5.47"), std::string::npos)
      << m.describe("w4g128");
  // A reference entry also works, and without any reference perplexity alone is unclassified.
  const MeasuredQuality with_ref = parse_measured(json::parse(R"({"results": [
      {"scheme": "bf16", "perplexity": 6.0}, {"scheme": "nf4", "perplexity": 6.003}]})"),
                                                  "x");
  EXPECT_EQ(with_ref.loss_class("nf4"), QualityBudget::zero);
  const MeasuredQuality no_ref =
      parse_measured(json::parse(R"({"scheme": "nf4", "ppl": 6.1})"), "single");
  EXPECT_FALSE(no_ref.loss_class("nf4").has_value());
}

TEST(Measured, RejectsMalformedResults) {
  for (const char* bad :
       {R"({"foo": 1})", R"([{"kld": 0.1}])", R"([{"scheme": "w8"}])",
        R"([{"scheme": "w8", "kld": -1}])", R"([{"scheme": "w8", "ppl": "x"}])", R"([])"}) {
    try {
      parse_measured(json::parse(bad), "bad.json");
      ADD_FAILURE() << "accepted " << bad;
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find("bad.json"), std::string::npos) << e.what();
    }
  }
}

TEST(Measured, LoadsFilesAndNamesUnreadableOnes) {
  testing::TempDir dir;
  const auto path = dir.path() / "sweep.json";
  std::ofstream(path) << R"({"results": [{"scheme": "w4g64", "kld": 0.004}]})";
  const MeasuredQuality m = load_measured(path);
  EXPECT_EQ(m.loss_class("w4g64"), QualityBudget::small);
  std::ofstream(dir.path() / "broken.json") << "{not json";
  try {
    load_measured(dir.path() / "broken.json");
    FAIL() << "expected FormatError";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("broken.json"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_measured(dir.path() / "missing.json"), Error);
}

}  // namespace
}  // namespace lowbit::advisor
