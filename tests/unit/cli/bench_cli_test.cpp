// SPDX-License-Identifier: MIT
// `lowbit bench`: one row per test and thread count with llama-bench's keys, the decode bytes
// per token, and refused flags.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "testing/test_data.h"

namespace lowbit::testing {
namespace {

TEST(BenchCli, RowsPerTestAndThreadCountWithLlamaBenchKeys) {
  LB_REQUIRE_DATA(bin, "stories260K/stories260K.bin");
  const CommandResult r = run_lowbit("bench -m " + bin.string() +
                                     " -p 64 -n 16 -t 1,2 -r 2 --kv-cache-dtype int8 -o json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = nlohmann::json::parse(r.out);
  ASSERT_EQ(rows.size(), 4u);
  const char* tests[] = {"pp64", "tg16", "pp64", "tg16"};
  const int threads[] = {1, 1, 2, 2};
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    EXPECT_EQ(row["test"], tests[i]);
    EXPECT_EQ(row["n_threads"], threads[i]);
    EXPECT_EQ(row["n_prompt"], i % 2 == 0 ? 64 : 0);
    EXPECT_EQ(row["n_gen"], i % 2 == 0 ? 0 : 16);
    EXPECT_EQ(row["samples_ts"].size(), 2u);
    EXPECT_GT(row["avg_ts"].get<double>(), 0.0);
    EXPECT_GE(row["stddev_ts"].get<double>(), 0.0);
    EXPECT_EQ(row["type_k"], "int8");
    EXPECT_EQ(row["matmul"], "int8");  // bench's default
    EXPECT_EQ(row["model_n_params"], 260032);
    EXPECT_GT(row["peak_rss_bytes"].get<double>(), 0.0);
    EXPECT_EQ(row.contains("bytes_per_token"), i % 2 == 1);
  }
  // Decode reads every weight (the embedding table once, as the tied head) and the cache.
  const double bytes = rows[1]["bytes_per_token"].get<double>();
  EXPECT_GT(bytes, rows[1]["model_size"].get<double>());
  EXPECT_NEAR(rows[1]["gb_per_s"].get<double>(), bytes * rows[1]["avg_ts"].get<double>() / 1e9,
              1e-9 * bytes * rows[1]["avg_ts"].get<double>());
  // Markdown by default: a header and one line per row.
  const CommandResult md = run_lowbit("bench -m " + bin.string() + " -p 32 -n 8 -t 1 -r 1");
  ASSERT_EQ(md.exit_code, 0) << md.err;
  EXPECT_NE(md.out.find("| pp32 |"), std::string::npos) << md.out;
  EXPECT_NE(md.out.find("| tg8 |"), std::string::npos) << md.out;
  EXPECT_NE(md.out.find("| int8 |"), std::string::npos) << md.out;
  // --matmul f32 and --head: named in the row.
  const CommandResult f32 = run_lowbit("bench -m " + bin.string() +
                                       " --scheme w8 --head q8_0 -p 32 -n 0 -t 1 -r 1 --matmul f32 "
                                       "-o json");
  ASSERT_EQ(f32.exit_code, 0) << f32.err;
  const auto f32_rows = nlohmann::json::parse(f32.out);
  EXPECT_EQ(f32_rows[0]["matmul"], "f32");
  EXPECT_EQ(f32_rows[0]["scheme"], "w8 head=q8_0");
}

TEST(BenchCli, BadFlagsAreRefused) {
  LB_REQUIRE_DATA(bin, "stories260K/stories260K.bin");
  const std::string base = "bench -m " + bin.string();
  expect_one_line_error(run_lowbit(base + " -o csv"), 2, "-o");
  expect_one_line_error(run_lowbit(base + " -p 0 -n 0"), 2, "nothing to run");
  expect_one_line_error(run_lowbit(base + " -p 4096 -n 0"), 2, "context");
  expect_one_line_error(run_lowbit(base + " --kv-cache-dtype int3"), 2, "--kv-cache-dtype");
  expect_one_line_error(run_lowbit(base + " --scheme gptq-w4g32"), 2, "lowbit quantize --calib");
  expect_one_line_error(run_lowbit(base + " --matmul int4"), 2, "--matmul");
}

}  // namespace
}  // namespace lowbit::testing
