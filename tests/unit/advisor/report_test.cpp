// SPDX-License-Identifier: MIT
// The JSON contract of `lowbit recommend --json` and the readable table, from the library.
#include "advisor/report.h"

#include <gtest/gtest.h>

namespace lowbit::advisor {
namespace {

Recommendation seventy_b_at_3tbs() {
  HardwareRequest hw;
  hw.bandwidth_gbps = 3000;
  return recommend(model_from_params(70'000'000'000), resolve_hardware(hw), {});
}

TEST(Report, JsonHoldsTheContractFields) {
  const nlohmann::json j = to_json(seventy_b_at_3tbs());
  ASSERT_TRUE(j.at("schemes").is_array());
  EXPECT_EQ(j.at("schemes").size(), quant::builtin_schemes().size());
  for (const auto& s : j.at("schemes"))
    for (const char* key : {"scheme", "bits_per_weight", "weight_bytes", "kv_bytes_per_token",
                            "min_decode_ms", "scale_overhead_bytes"})
      EXPECT_TRUE(s.contains(key)) << key;
  auto scheme = [&](const std::string& name) {
    for (const auto& s : j.at("schemes"))
      if (s.at("scheme") == name) return s;
    ADD_FAILURE() << name;
    return nlohmann::json();
  };
  EXPECT_DOUBLE_EQ(scheme("bf16").at("weight_bytes").get<double>(), 140e9);
  EXPECT_DOUBLE_EQ(scheme("w4g128").at("weight_bytes").get<double>(), 35e9);
  EXPECT_NEAR(scheme("w4g128").at("min_decode_ms").get<double>(), 11.67, 0.35);
  ASSERT_FALSE(j.at("recommendation").empty());
  for (const auto& r : j.at("recommendation")) {
    EXPECT_FALSE(r.at("reasons").empty());
    EXPECT_TRUE(r.contains("scheme") && r.contains("choice") && r.contains("rank"));
  }
  EXPECT_EQ(j.at("recommendation")[0].at("rank"), 1);
  EXPECT_EQ(j.at("decision").size(), 4u);
  EXPECT_EQ(j.at("hardware").at("bandwidth_gbps"), 3000.0);
  EXPECT_TRUE(j.at("hardware").at("memory_bytes").is_null());
  EXPECT_EQ(j.at("model").at("total_params"), 70'000'000'000);
  EXPECT_EQ(j.at("kv_cache").size(), kv_dtypes().size());
  EXPECT_NE(j.at("command").get<std::string>().find("lowbit quantize --model MODEL_DIR"),
            std::string::npos);
}

TEST(Report, TableShowsEverySchemeAndTheDecision) {
  const std::string text = format_report(seventy_b_at_3tbs());
  for (const auto& s : quant::builtin_schemes())
    EXPECT_NE(text.find("\n" + s.name + " "), std::string::npos) << s.name;
  for (const char* part : {"decision", "hardware [unknown]", "memory [unknown]", "recommendation",
                           "top choice:", "lowbit quantize", "note: KV-cache size uses"})
    EXPECT_NE(text.find(part), std::string::npos) << part;
  EXPECT_NE(text.find("140.00"), std::string::npos);  // bf16 weights, GB
  EXPECT_NE(text.find(" 35.00"), std::string::npos);  // int4 weights, GB
}

TEST(Report, HardwareTableListsSources) {
  const std::string text = format_hardware_table();
  for (const auto& hw : hardware_table()) EXPECT_NE(text.find(hw.name), std::string::npos);
  EXPECT_NE(text.find("NVIDIA H100 Tensor Core GPU datasheet"), std::string::npos);
}

}  // namespace
}  // namespace lowbit::advisor
