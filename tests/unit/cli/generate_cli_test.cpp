// SPDX-License-Identifier: MIT
// `lowbit generate` with a quantized KV cache: calibrated fp8 scales from --calib, and --calib
// refused for any other cache dtype.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "testing/test_data.h"

namespace lowbit::testing {
namespace {

TEST(GenerateCli, CalibratedFp8KvCacheGeneratesAndCalibWithoutFp8IsRefused) {
  LB_REQUIRE_DATA(bin, "stories260K/stories260K.bin");
  LB_REQUIRE_DATA(text, "eval/tinystories_valid_part1.txt");
  const std::string base = "generate --model " + bin.string() + " -p \"Once upon a time\" -n 24";
  const CommandResult calibrated = run_lowbit(base + " --kv-cache-dtype fp8 --calib " +
                                              text.string() + " --calib-samples 4 --json");
  ASSERT_EQ(calibrated.exit_code, 0) << calibrated.err;
  EXPECT_NE(calibrated.err.find("fp8 KV scales from 4 windows"), std::string::npos)
      << calibrated.err;
  const auto j = nlohmann::json::parse(calibrated.out);
  EXPECT_EQ(j["kv_cache_dtype"], "fp8");
  EXPECT_EQ(j["kv_fp8_scales"], "calibrated");
  EXPECT_GT(j["tokens"].size(), 0u);
  const CommandResult dynamic = run_lowbit(base + " --kv-cache-dtype fp8 --json");
  ASSERT_EQ(dynamic.exit_code, 0) << dynamic.err;
  EXPECT_EQ(nlohmann::json::parse(dynamic.out)["kv_fp8_scales"], "dynamic");
  expect_one_line_error(run_lowbit(base + " --kv-cache-dtype int8 --calib " + text.string()), 2,
                        "--calib");
  expect_one_line_error(
      run_lowbit(base + " --kv-cache-dtype fp8 --calib " + bin.string() + ".missing"), 2,
      "--calib");
}

}  // namespace
}  // namespace lowbit::testing
