// SPDX-License-Identifier: MIT
// `quantize` with calibrated schemes from the command line: a run killed mid-way (SIGKILL, no
// cleanup) resumes from its finished blocks and writes exactly what an uninterrupted run
// writes; damaged or foreign leftovers are never trusted; bad calibration text is refused with
// one line naming --calib.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "io/checkpoint.h"
#include "testing/test_data.h"
#include "util/atomic_file.h"

namespace lowbit::testing {
namespace {

namespace fs = std::filesystem;

struct Fixture {
  TempDir tmp;
  fs::path hf = tmp.path() / "hf";
  fs::path calib = tmp.path() / "calib.txt";

  Fixture() {
    const CommandResult r = run_lowbit("synth --preset tiny --layers 4 --out " + hf.string());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const char* words[] = {"the", "river", "king", "stone", "light", "over", "green", "market"};
    std::mt19937 gen(5);
    std::ofstream text(calib);
    for (int i = 0; i < 2000; ++i) text << words[gen() % 8] << (i % 17 == 16 ? ".\n" : " ");
  }

  CommandResult quantize(const std::string& scheme, const fs::path& out,
                         const std::string& extra = "") const {
    return run_lowbit("quantize --model " + hf.string() + " --scheme " + scheme + " --calib " +
                      calib.string() + " --calib-samples 4 --calib-seq-len 64 --out " +
                      out.string() + " " + extra);
  }
};

// Runs `quantize` with the fault-injection hook that SIGKILLs it after `blocks` blocks.
CommandResult quantize_killed_after(const Fixture& f, const std::string& scheme,
                                    const fs::path& out, int blocks,
                                    const std::string& extra = "") {
  setenv("LOWBIT_CALIB_KILL_AFTER_BLOCK", std::to_string(blocks).c_str(), 1);
  CommandResult r = f.quantize(scheme, out, extra);
  unsetenv("LOWBIT_CALIB_KILL_AFTER_BLOCK");
  return r;
}

int count(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1))
    ++n;
  return n;
}

fs::path partial(const fs::path& out) { return out.string() + ".partial"; }

// Float targets (--match-float) too: resumed blocks must still advance the unquantized
// model's hidden states that later blocks fit to.
TEST(CalibrationResume, AKilledRunResumesAndWritesWhatAnUninterruptedRunWrites) {
  Fixture f;
  const std::pair<std::string, std::string> runs[] = {
      {"gptq-w4g16", ""}, {"awq-w3g16", ""}, {"gptq-w3g16", "--match-float 0.5"}};
  for (const auto& [scheme, flags] : runs) {
    const std::string label = scheme + (flags.empty() ? "" : "-matched");
    const fs::path whole = f.tmp.path() / (label + "-whole");
    const fs::path resumed = f.tmp.path() / (label + "-resumed");
    const CommandResult a =
        f.quantize(scheme, whole, flags + " --report " + (whole.string() + ".json"));
    ASSERT_EQ(a.exit_code, 0) << a.err;
    EXPECT_FALSE(fs::exists(partial(whole)));

    const CommandResult killed = quantize_killed_after(f, scheme, resumed, 2, flags);
    EXPECT_EQ(killed.exit_code, 128 + 9) << killed.err;
    EXPECT_FALSE(fs::exists(resumed));
    EXPECT_TRUE(fs::is_directory(partial(resumed) / "block-0000"));
    EXPECT_TRUE(fs::is_directory(partial(resumed) / "block-0001"));
    EXPECT_FALSE(fs::exists(partial(resumed) / "block-0002"));

    const CommandResult b =
        f.quantize(scheme, resumed, flags + " --report " + (resumed.string() + ".json"));
    ASSERT_EQ(b.exit_code, 0) << b.err;
    EXPECT_EQ(count(b.err, " resumed "), 2) << b.err;
    EXPECT_FALSE(fs::exists(partial(resumed)));
    EXPECT_EQ(read_file(whole / "model.safetensors"), read_file(resumed / "model.safetensors"))
        << label;
    // The report covers every layer, resumed ones included.
    EXPECT_EQ(read_file(whole.string() + ".json"), read_file(resumed.string() + ".json"));
    if (flags.empty()) continue;
    // Recorded in the checkpoint; the strength changes the result.
    EXPECT_EQ(io::read_checkpoint(whole).quantization.at("calibration").at("match_float"), 0.5);
    const fs::path plain = f.tmp.path() / (label + "-plain");
    ASSERT_EQ(f.quantize(scheme, plain).exit_code, 0);
    EXPECT_NE(read_file(whole / "model.safetensors"), read_file(plain / "model.safetensors"));
  }
}

TEST(CalibrationResume, DamagedBlocksAreQuantizedAgain) {
  Fixture f;
  const fs::path whole = f.tmp.path() / "whole", out = f.tmp.path() / "out";
  ASSERT_EQ(f.quantize("gptq-w4g16", whole).exit_code, 0);
  ASSERT_EQ(quantize_killed_after(f, "gptq-w4g16", out, 3).exit_code, 128 + 9);
  // Block 0 truncated, block 1's manifest entry points at another block.
  const fs::path st = partial(out) / "block-0000" / "model.safetensors";
  const std::string bytes = read_file(st);
  write_file_atomic(st, bytes.substr(0, bytes.size() / 2));
  fs::remove_all(partial(out) / "block-0001");
  fs::copy(partial(out) / "block-0002", partial(out) / "block-0001");
  const CommandResult r = f.quantize("gptq-w4g16", out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("not reusing " + (partial(out) / "block-0000").string()), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("holds another block"), std::string::npos) << r.err;
  EXPECT_EQ(count(r.err, " resumed "), 1) << r.err;  // block 2 only
  EXPECT_EQ(read_file(whole / "model.safetensors"), read_file(out / "model.safetensors"));
}

TEST(CalibrationResume, BlocksOfAnotherRunAreNotReused) {
  Fixture f;
  const fs::path out = f.tmp.path() / "out", other = f.tmp.path() / "other";
  ASSERT_EQ(quantize_killed_after(f, "gptq-w4g16", out, 2).exit_code, 128 + 9);
  // Another seed draws other windows: the finished blocks no longer apply.
  const CommandResult r = f.quantize("gptq-w4g16", out, "--seed 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("holds blocks of a different run"), std::string::npos) << r.err;
  EXPECT_EQ(count(r.err, " resumed "), 0) << r.err;
  ASSERT_EQ(f.quantize("gptq-w4g16", other, "--seed 1").exit_code, 0);
  EXPECT_EQ(read_file(other / "model.safetensors"), read_file(out / "model.safetensors"));
}

TEST(CalibrationResume, AForeignDirectoryAtThePartialPathIsRefusedUntouched) {
  Fixture f;
  const fs::path out = f.tmp.path() / "out";
  fs::create_directories(partial(out));
  std::ofstream(partial(out) / "thesis.tex") << "precious";
  const CommandResult r = f.quantize("gptq-w4g16", out);
  expect_one_line_error(r, 2, "is not a lowbit partial-run directory");
  EXPECT_EQ(read_file(partial(out) / "thesis.tex"), "precious");
  EXPECT_FALSE(fs::exists(out));
}

TEST(CalibrationCli, BadCalibrationTextIsRefusedNamingCalib) {
  Fixture f;
  const fs::path out = f.tmp.path() / "out";
  const fs::path empty = f.tmp.path() / "empty.txt", short_text = f.tmp.path() / "short.txt",
                 latin1 = f.tmp.path() / "latin1.txt";
  write_bytes(empty, "");
  write_bytes(short_text, "A few words only.");
  write_bytes(latin1, "caf\xe9 au lait, " + std::string(400, 'x'));
  const std::string base =
      "quantize --model " + f.hf.string() + " --scheme gptq-w4g16 --out " + out.string() + " ";
  expect_one_line_error(run_lowbit(base + "--calib " + empty.string()), 3, "the file is empty");
  expect_one_line_error(run_lowbit(base + "--calib " + short_text.string() + " --calib-seq-len 64"),
                        2, "fewer than one window of 64 (--calib-seq-len)");
  expect_one_line_error(run_lowbit(base + "--calib " + latin1.string()), 3, "not UTF-8");
  expect_one_line_error(run_lowbit(base + "--calib " + f.tmp.path().string()), 2, "is a directory");
  expect_one_line_error(run_lowbit(base), 2, "needs calibration text: give --calib FILE");
  expect_one_line_error(run_lowbit("quantize --model " + f.hf.string() + " --scheme w8 --out " +
                                   out.string() + " --calib " + f.calib.string()),
                        2, "does not use calibration data");
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(partial(out)));
}

// --mix measures each linear's sensitivity on --calib and upgrades the most sensitive within
// --target-bpw: the checkpoint records which linears got what, --report their sensitivities.
TEST(CalibrationCli, MixUpgradesMeasuredLinearsWithinTheTarget) {
  Fixture f;
  const fs::path out = f.tmp.path() / "mixed", report = f.tmp.path() / "report.json";
  const CommandResult r = f.quantize(
      "gptq-w3g32", out, "--mix w8 --target-bpw 4.6 --mix-samples 2 --report " + report.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("mix: [28/28]"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("scheme gptq-w3g32 mix=w8@4.6 from"), std::string::npos) << r.out;
  const io::Checkpoint ck = io::read_checkpoint(out);
  const nlohmann::json& q = ck.quantization;
  EXPECT_LE(q.at("bits_per_weight").get<double>(), 4.6);
  EXPECT_GT(q.at("bits_per_weight").get<double>(), 4.3);  // w3g32 alone: about 4
  EXPECT_EQ(q.at("scheme"), "gptq-w3g32 mix=w8@4.6");
  const nlohmann::json& rules = q.at("tensor_types");
  ASSERT_FALSE(rules.empty());
  int upgraded = 0;
  for (const nlohmann::json& rule : rules) {
    EXPECT_EQ(rule.at("scheme"), "w8");
    ASSERT_EQ(rule.at("tensors").size(), 1u);
    const std::string name = rule.at("tensors")[0];
    EXPECT_EQ(ck.tensors.at(name).format.bits, 8) << name;
    ++upgraded;
  }
  int threes = 0;
  for (const std::string& name : ck.tensors.names())
    threes += ck.tensors.at(name).format.bits == 3 ? 1 : 0;
  EXPECT_EQ(upgraded + threes, 28);
  std::ifstream in(report);
  const nlohmann::json rep = nlohmann::json::parse(in);
  ASSERT_EQ(rep.at("layers").size(), 28u);
  for (const nlohmann::json& layer : rep.at("layers"))
    EXPECT_GT(layer.at("sensitivity_kl").get<double>(), 0) << layer.dump();

  EXPECT_EQ(rep.at("scheme"), "gptq-w3g32 mix=w8@4.6");
  EXPECT_EQ(rep.at("sensitivity").at("windows"), 2);

  // The sensitivities are reused from the report: the same plan, with nothing measured again.
  const fs::path again = f.tmp.path() / "again";
  const CommandResult reuse = f.quantize(
      "gptq-w3g32", again, "--mix w8 --target-bpw 4.6 --mix-sensitivity " + report.string());
  ASSERT_EQ(reuse.exit_code, 0) << reuse.err;
  EXPECT_EQ(reuse.err.find("mix: [1/28]"), std::string::npos) << reuse.err;
  EXPECT_NE(reuse.err.find("mix: sensitivities of 28 linears from"), std::string::npos);
  EXPECT_EQ(io::read_checkpoint(again).quantization.at("tensor_types"), rules);
  expect_one_line_error(
      f.quantize("gptq-w4g32", f.tmp.path() / "other",
                 "--mix w8 --target-bpw 5.5 --mix-sensitivity " + report.string()),
      2, "measured with int3 g32");
  const fs::path plain_report = f.tmp.path() / "plain.json";
  ASSERT_EQ(f.quantize("gptq-w3g32", f.tmp.path() / "plain", "--report " + plain_report.string())
                .exit_code,
            0);
  expect_one_line_error(
      f.quantize("gptq-w3g32", f.tmp.path() / "other",
                 "--mix w8 --target-bpw 4.6 --mix-sensitivity " + plain_report.string()),
      3, "no sensitivities");

  const std::string base = "quantize --model " + f.hf.string() + " --scheme w3g32 --out " +
                           (f.tmp.path() / "bad").string() + " ";
  expect_one_line_error(run_lowbit(base + "--mix w8"), 2, "--mix needs --target-bpw B");
  expect_one_line_error(run_lowbit(base + "--target-bpw 4"), 2, "--target-bpw needs --mix SCHEME");
  expect_one_line_error(run_lowbit(base + "--mix w8 --target-bpw 4"), 2,
                        "--mix needs calibration text: give --calib FILE");
  expect_one_line_error(run_lowbit(base + "--mix w8 --target-bpw 2 --calib " + f.calib.string()), 2,
                        "--target-bpw 2 is below the 4.0");
  EXPECT_FALSE(fs::exists(f.tmp.path() / "bad"));
}

}  // namespace
}  // namespace lowbit::testing
