// SPDX-License-Identifier: MIT
// W8A8 / FP8 through the binary: the demo model's planted outliers break naive W8A8 and the
// outlier-aware schemes recover; `lowbit outliers` finds the planted channels and plots them;
// the activation flags refuse what they cannot apply to.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "testing/test_data.h"

namespace lowbit::testing {
namespace {

namespace fs = std::filesystem;

TEST(W8A8Cli, DemoNaiveW8a8IsTenTimesWorseThanSmoothQuantLlmInt8AndFp8) {
  const CommandResult r = run_lowbit(
      "demo --schemes w8a8-naive,smoothquant,llm-int8,fp8-dynamic --text-tokens 1024 --json -t 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, double> kld;
  const auto j =
      nlohmann::json::parse(r.out);  // kept: a range-for over a temporary's member dangles
  for (const auto& row : j["schemes"])
    kld[row["scheme"].get<std::string>()] = row["kld"].get<double>();
  ASSERT_EQ(kld.size(), 4u);
  for (const char* good : {"smoothquant", "llm-int8", "fp8-dynamic"}) {
    EXPECT_GT(kld["w8a8-naive"], 10 * kld[good]) << good;
    EXPECT_GT(kld[good], 0.0) << good;
  }
}

TEST(W8A8Cli, OutliersFindsThePlantedChannelsAndPlotsThem) {
  LB_REQUIRE_DATA(text, "eval/tinystories_valid_part1.txt");
  TempDir tmp;
  const fs::path model = tmp.path() / "demo";
  ASSERT_EQ(run_lowbit("synth --preset demo --out " + model.string()).exit_code, 0);
  const fs::path svg = tmp.path() / "outliers.svg";
  const CommandResult r =
      run_lowbit("outliers -m " + model.string() + " --calib " + text.string() +
                 " --calib-samples 2 --calib-seq-len 64 --top 4 --json --plot " + svg.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["calibration_tokens"], 128);
  // synthetic_model.cpp plants 4 residual outlier channels at (i * 7919 + 13) % 256.
  const std::set<int64_t> planted{13, 7932 % 256, 15851 % 256, 23770 % 256};
  int checked = 0;
  for (const auto& in : j["inputs"]) {
    const std::string kind = in["input"];
    if (kind != "qkv" && kind != "gate_up") continue;
    std::set<int64_t> top;
    for (const auto& t : in["top_channels"]) top.insert(t["channel"].get<int64_t>());
    EXPECT_EQ(top, planted) << "layer " << in["layer"] << " " << kind;
    EXPECT_GT(in["max_over_median"].get<double>(), 10.0);
    ++checked;
  }
  EXPECT_EQ(checked, 8);  // 4 layers x 2 inputs
  std::ifstream f(svg);
  std::stringstream s;
  s << f.rdbuf();
  EXPECT_NE(s.str().find("<svg"), std::string::npos);
  EXPECT_NE(s.str().find("input of down"), std::string::npos);
  EXPECT_NE(s.str().find("</svg>"), std::string::npos);
}

TEST(W8A8Cli, ActivationFlagsRefuseSchemesTheyDoNotApplyTo) {
  LB_REQUIRE_DATA(bin, "stories260K/stories260K.bin");
  LB_REQUIRE_DATA(text, "eval/tinystories_valid_part1.txt");
  const std::string eval = "eval --model " + bin.string() + " --text " + text.string() +
                           " --ctx 64 --chunks 1 --scheme ";
  CommandResult r = run_lowbit(eval + "w8a8 --threshold 4");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--threshold"), std::string::npos) << r.err;
  r = run_lowbit(eval + "smoothquant --calib " + text.string() + " --alpha 1.5");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--alpha"), std::string::npos) << r.err;
  r = run_lowbit(eval + "w8a8-static");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--calib"), std::string::npos) << r.err;
  // llm-int8 with a threshold no activation reaches is plain per-token W8A8.
  const auto kld = [&](const std::string& scheme) {
    const CommandResult e = run_lowbit(eval + scheme + " --json");
    EXPECT_EQ(e.exit_code, 0) << e.err;
    return e.exit_code == 0 ? nlohmann::json::parse(e.out)["kld"].get<double>() : -1.0;
  };
  EXPECT_EQ(kld("llm-int8 --threshold 1e30"), kld("w8a8"));
}

}  // namespace
}  // namespace lowbit::testing
