// SPDX-License-Identifier: MIT
// The command-line parser: flags that would be ignored are refused, composed scheme names say
// what they are, messages are plain, --version exists, global flags may follow the subcommand,
// a missing path is exit 2 naming its flag, and every --help shows defaults.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "testing/test_data.h"

namespace lowbit::testing {
namespace {

namespace fs = std::filesystem;

int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

void expect_error(const CommandResult& r, int code, const std::string& needle) {
  EXPECT_EQ(r.exit_code, code) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

fs::path synth_tiny(const TempDir& tmp) {
  const fs::path hf = tmp.path() / "hf";
  EXPECT_EQ(run_lowbit("synth --preset tiny --out " + hf.string()).exit_code, 0);
  return hf;
}

TEST(CliFlags, IgnoredSchemeFlagsAreRefused) {
  TempDir tmp;
  const fs::path hf = synth_tiny(tmp);
  const std::string q = "quantize --model " + hf.string() + " --out " + (tmp.path() / "q").string();
  expect_error(run_lowbit(q + " --scheme w4g128 --symmetric"), 2, "--symmetric");
  expect_error(run_lowbit(q + " --scheme nf4 --group-size 32"), 2, "--group-size");
  expect_error(run_lowbit(q + " --bits 16 --group-size 32"), 2, "dense");
  expect_error(run_lowbit(q + " --group-size 32"), 2, "--bits");
  EXPECT_FALSE(fs::exists(tmp.path() / "q"));
}

TEST(CliFlags, ComposedAsymmetricInt8IsNotNamedW8) {
  TempDir tmp;
  const fs::path hf = synth_tiny(tmp);
  const CommandResult r =
      run_lowbit("quantize --model " + hf.string() + " --bits 8 --group-size 0 --json --out " +
                 (tmp.path() / "q").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out).at("scheme"), "w8-asym");
}

TEST(CliFlags, NumberMessagesArePlain) {
  TempDir tmp;
  const fs::path hf = synth_tiny(tmp);
  std::ofstream(tmp.path() / "t.txt") << "hello";
  const std::string eval =
      "eval --model " + hf.string() + " --text " + (tmp.path() / "t.txt").string();
  expect_error(run_lowbit(eval + " --ctx abc"), 2, "'abc' is not an integer");
  const CommandResult zero = run_lowbit("schemes --in-features 0");
  expect_error(zero, 2, "--in-features");
  EXPECT_NE(zero.err.find("0 is outside 1.."), std::string::npos) << zero.err;
  EXPECT_LT(zero.err.size(), 120u) << zero.err;  // no 300-digit bound
  expect_error(run_lowbit("generate --model " + hf.string() + " --temp warm"), 2,
               "'warm' is not a number");
  expect_error(run_lowbit(eval + " --scheme gptq-w4g32 --calib t.txt --match-float 2"), 2,
               "--match-float");
}

TEST(CliFlags, VersionAndGlobalFlagsAfterTheSubcommand) {
  const CommandResult v = run_lowbit("--version");
  EXPECT_EQ(v.exit_code, 0) << v.err;
  EXPECT_EQ(v.out.rfind("lowbit ", 0), 0u) << v.out;
  TempDir tmp;
  const CommandResult quiet =
      run_lowbit("synth --preset tiny --out " + (tmp.path() / "hf").string() + " -q");
  EXPECT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_TRUE(quiet.err.empty()) << quiet.err;
}

TEST(CliFlags, MissingPathsAreExit2NamingTheFlag) {
  TempDir tmp;
  const fs::path hf = synth_tiny(tmp);
  const std::string missing = (tmp.path() / "nope.txt").string();
  expect_error(run_lowbit("eval --model " + hf.string() + " --text " + missing), 2, "--text");
  expect_error(run_lowbit("inspect --model " + missing), 2, "--model");
  expect_error(run_lowbit("eval --model " + hf.string() + " --text " + tmp.path().string()), 2,
               "is a directory");
  expect_error(run_lowbit("generate --model " + hf.string() + " --tokenizer " + missing), 2,
               "--tokenizer");
}

TEST(CliFlags, EveryHelpShowsDefaults) {
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"eval", "512"},   {"generate", "--temp"}, {"quantize", "--threads"},
      {"synth", "demo"}, {"demo", "--ctx"},      {"schemes", "4096"}};
  for (const auto& [cmd, needle] : expected) {
    const CommandResult r = run_lowbit(cmd + " --help");
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_NE(r.out.find(needle), std::string::npos) << cmd << "\n" << r.out;
  }
  // Defaults follow the type, e.g. "INT in 2..1048576=512".
  EXPECT_NE(run_lowbit("eval --help").out.find("=512"), std::string::npos);
  EXPECT_NE(run_lowbit("generate --help").out.find("=0"), std::string::npos);  // --threads 0
  EXPECT_NE(run_lowbit("schemes --help").out.find("=4096"), std::string::npos);
}

}  // namespace
}  // namespace lowbit::testing
