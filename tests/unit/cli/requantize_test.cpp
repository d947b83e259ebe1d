// SPDX-License-Identifier: MIT
// An already-quantized model given to quantize / eval --scheme is refused without --requantize;
// with it, a warning is printed and the output names the true baseline.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "io/checkpoint.h"
#include "testing/test_data.h"

namespace lowbit::testing {
namespace {

namespace fs = std::filesystem;

struct Models {
  TempDir tmp;
  fs::path hf, q, text;
  Models() {
    hf = tmp.path() / "hf";
    q = tmp.path() / "q";
    text = tmp.path() / "text.txt";
    EXPECT_EQ(run_lowbit("synth --preset tiny --out " + hf.string()).exit_code, 0);
    EXPECT_EQ(run_lowbit("quantize --model " + hf.string() + " --scheme w4g32 --out " + q.string())
                  .exit_code,
              0);
    std::ofstream(text) << "Once upon a time there was a little model that wanted to be small. "
                           "It was quantized and measured, and everyone knew what it cost.";
  }
};

TEST(Requantize, QuantizeRefusesAQuantizedCheckpoint) {
  Models m;
  const fs::path out = m.tmp.path() / "qq";
  const CommandResult r =
      run_lowbit("quantize --model " + m.q.string() + " --scheme w8 --out " + out.string());
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("already quantized (w4g32)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--requantize"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));

  const CommandResult ok = run_lowbit("quantize --model " + m.q.string() +
                                      " --scheme w8 --requantize --json --out " + out.string());
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.err.find("warning"), std::string::npos) << ok.err;
  const auto j = nlohmann::json::parse(ok.out);
  EXPECT_EQ(j.at("quantized_from"), "dequantized w4g32 weights (re-quantized)");
  const io::Checkpoint ck = io::read_checkpoint(out);
  EXPECT_EQ(ck.quantization.at("source_scheme"), "w4g32");
  EXPECT_EQ(ck.quantization.at("scheme"), "w8");
}

TEST(Requantize, EvalSchemeOnAQuantizedCheckpointNamesItsBaseline) {
  Models m;
  const std::string base = "eval --ctx 16 --json --model ";
  const CommandResult r =
      run_lowbit(base + m.q.string() + " --text " + m.text.string() + " --scheme w8");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--requantize"), std::string::npos) << r.err;
  const CommandResult ok =
      run_lowbit(base + m.q.string() + " --text " + m.text.string() + " --scheme w8 --requantize");
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(nlohmann::json::parse(ok.out).at("baseline"),
            "dequantized w4g32 weights (re-quantized)");
  // From the original f32 model the baseline is the f32 weights, and no flag is needed.
  const CommandResult f32 =
      run_lowbit(base + m.hf.string() + " --text " + m.text.string() + " --scheme w8");
  ASSERT_EQ(f32.exit_code, 0) << f32.err;
  EXPECT_EQ(nlohmann::json::parse(f32.out).at("baseline"), "f32 weights");
  // Evaluating the checkpoint itself (no --scheme) is not re-quantizing.
  EXPECT_EQ(run_lowbit(base + m.q.string() + " --text " + m.text.string()).exit_code, 0);
}

}  // namespace
}  // namespace lowbit::testing
