// SPDX-License-Identifier: MIT
// `lowbit recommend` end to end: the JSON contract, real configs and models, and bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "testing/test_data.h"

namespace lowbit {
namespace {

namespace fs = std::filesystem;
using testing::run_lowbit;

fs::path fixture(const std::string& name) {
  return fs::path(LOWBIT_SOURCE_DIR) / "tests" / "fixtures" / "configs" / name;
}

// An HF-style directory holding `config` as config.json.
fs::path config_dir(const testing::TempDir& tmp, const std::string& config) {
  const fs::path dir = tmp.path() / "model";
  fs::create_directories(dir);
  fs::copy_file(fixture(config), dir / "config.json");
  return dir;
}

double scheme_field(const nlohmann::json& j, const std::string& scheme, const char* key) {
  for (const auto& s : j.at("schemes"))
    if (s.at("scheme") == scheme) return s.at(key).get<double>();
  ADD_FAILURE() << "no scheme " << scheme;
  return 0;
}

TEST(RecommendCli, WorkedNumbersAsJson) {
  const auto r = run_lowbit("recommend --params 70B --bandwidth 3000 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_DOUBLE_EQ(scheme_field(j, "bf16", "weight_bytes"), 140e9);
  EXPECT_DOUBLE_EQ(scheme_field(j, "fp8", "weight_bytes"), 70e9);
  EXPECT_DOUBLE_EQ(scheme_field(j, "w8", "weight_bytes"), 70e9);
  EXPECT_DOUBLE_EQ(scheme_field(j, "w4g128", "weight_bytes"), 35e9);
  EXPECT_NEAR(scheme_field(j, "bf16", "min_decode_ms"), 46.67, 46.67 * 0.03);
  EXPECT_NEAR(scheme_field(j, "fp8", "min_decode_ms"), 23.33, 23.33 * 0.03);
  EXPECT_NEAR(scheme_field(j, "w4g128", "min_decode_ms"), 11.67, 11.67 * 0.03);
  EXPECT_GT(scheme_field(j, "w4g128", "scale_overhead_bytes"), 0);
  EXPECT_GT(scheme_field(j, "w4g128", "kv_bytes_per_token"), 0);
  EXPECT_DOUBLE_EQ(scheme_field(j, "w4g128", "bits_per_weight"), 4.25);
  ASSERT_FALSE(j.at("recommendation").empty());
  EXPECT_FALSE(j.at("recommendation")[0].at("reasons").empty());
  // H100 SXM: the same figures scaled by 3000 / 3350.
  const auto h = run_lowbit("recommend --params 70B --hardware h100-sxm --json");
  ASSERT_EQ(h.exit_code, 0) << h.err;
  const auto hj = nlohmann::json::parse(h.out);
  EXPECT_NEAR(scheme_field(hj, "bf16", "min_decode_ms"),
              scheme_field(j, "bf16", "min_decode_ms") * 3000 / 3350, 1e-6);
}

TEST(RecommendCli, ReadsAnHfConfigDirectory) {
  testing::TempDir tmp;
  for (const auto& [config, params] : {std::pair{"llama2-7b.json", 6'738'415'616LL},
                                       {"llama3-8b.json", 8'030'261'248LL},
                                       {"llama2-70b.json", 68'976'648'192LL}}) {
    const testing::TempDir dir;
    const auto r = run_lowbit("recommend --model " + config_dir(dir, config).string() +
                              " --hardware a100-80gb --json");
    ASSERT_EQ(r.exit_code, 0) << config << ": " << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j.at("model").at("total_params").get<int64_t>(), params) << config;
    EXPECT_TRUE(j.at("model").at("kv_geometry_exact").get<bool>());
    EXPECT_NE(j.at("command").get<std::string>().find("--model " + (dir.path() / "model").string()),
              std::string::npos);
  }
}

TEST(RecommendCli, CountsTheSharedRealModels) {
  LB_REQUIRE_DATA(stories, "stories260K/stories260K.bin");
  LB_REQUIRE_DATA(dreams, "aidreams260K/aidreams260K.bin");
  LB_REQUIRE_DATA(gguf, "stories260K/tinyllamas-stories-260k-f32.gguf");
  for (const auto& [path, params] :
       {std::pair{stories, 260'032LL},
        {dreams, 230'976LL},
        // The GGUF stores output.weight as a byte copy of the embedding: read as tied.
        {gguf, 260'032LL}}) {
    const auto r = run_lowbit("recommend --model " + path.string() + " --hardware t4 --json");
    ASSERT_EQ(r.exit_code, 0) << path << ": " << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out).at("model").at("total_params").get<int64_t>(), params)
        << path;
  }
}

TEST(RecommendCli, ReadableTable) {
  const auto r = run_lowbit(
      "recommend --params 8B --shape llama3-8b --hardware rtx-4090 "
      "--quality moderate");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* part :
       {"scheme", "min decode", "decision", "hardware [consumer]", "recommendation",
        "1. AWQ INT4 g128", "top choice:", "lowbit quantize --model MODEL_DIR --scheme w4g128"})
    EXPECT_NE(r.out.find(part), std::string::npos) << part << "\n" << r.out;
}

TEST(RecommendCli, MeasuredFileChangesTheRanking) {
  testing::TempDir tmp;
  const fs::path sweep = tmp.path() / "sweep.json";
  std::ofstream(sweep)
      << R"([{"scheme": "w4g128", "kld": 0.0004}, {"scheme": "fp8", "kld": 0.03}])";
  const auto r = run_lowbit(
      "recommend --shape llama3-8b --hardware h100-sxm --quality zero "
      "--json --measured " +
      sweep.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("recommendation")[1].at("scheme"), "w4g128");
  EXPECT_TRUE(j.at("recommendation")[1].at("loss_measured").get<bool>());
  EXPECT_EQ(j.at("decision")[2].at("branch"), "measured");
}

TEST(RecommendCli, BadInputGivesAClearError) {
  struct Case {
    std::string args;
    int code;
    std::string message;
  };
  testing::TempDir tmp;
  const std::string missing = config_dir(tmp, "missing-field.json").string();
  const std::vector<Case> cases = {
      {"recommend --params 70B --hardware h900", 2, "--hardware: unknown hardware 'h900'"},
      {"recommend --params 70B --bandwidth 3000 --context=-5", 2, "--context"},
      {"recommend --params 70B --bandwidth 3000 --context -5", 2, "--context"},
      {"recommend --params 70B --bandwidth 3000 --context 0", 2, "--context"},
      {"recommend --params 70B --bandwidth=-1", 2, "--bandwidth"},
      {"recommend --params 70Q --bandwidth 3000", 2, "--params"},
      {"recommend --params 70B --shape llama9", 2, "--shape: unknown shape"},
      {"recommend --params 70B --bandwidth 3000 --quality perfect", 2, "--quality"},
      {"recommend --params 70B --bandwidth 3000 --workload batch", 2, "--workload"},
      {"recommend --params 70B --bandwidth 3000 --kv-cache-dtype int3", 2, "--kv-cache-dtype"},
      {"recommend --bandwidth 3000", 2, "--model PATH, --params"},
      {"recommend --model " + missing + " --bandwidth 3000", 3, "num_hidden_layers"},
      {"recommend --model " + missing + " --params 7B", 2, "not both"},
      {"recommend --model /nonexistent/model --bandwidth 3000", 2, "/nonexistent/model"},
  };
  for (const auto& c : cases) {
    const auto r = run_lowbit(c.args);
    EXPECT_EQ(r.exit_code, c.code) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.args << "\n" << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
    EXPECT_TRUE(r.out.empty()) << c.args;
  }
}

TEST(RecommendCli, HelpAndHardwareList) {
  const auto help = run_lowbit("recommend --help");
  EXPECT_EQ(help.exit_code, 0);
  for (const char* flag :
       {"--model", "--params", "--shape", "--hardware", "--bandwidth", "--memory", "--context",
        "--kv-cache-dtype", "--quality", "--workload", "--measured", "--json", "--prompt-tokens"})
    EXPECT_NE(help.out.find(flag), std::string::npos) << flag;
  const auto list = run_lowbit("recommend --list-hardware");
  ASSERT_EQ(list.exit_code, 0) << list.err;
  for (const char* name : {"h100-sxm", "h100-pcie", "h200", "b200", "a100-40gb", "a100-80gb",
                           "l40s", "v100", "t4", "rtx-4090", "mi300x", "cpu"})
    EXPECT_NE(list.out.find(name), std::string::npos) << name;
}

}  // namespace
}  // namespace lowbit
