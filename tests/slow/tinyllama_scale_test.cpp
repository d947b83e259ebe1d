// SPDX-License-Identifier: MIT
// A model of real size through the binary: a TinyLlama-1.1B-shaped synthetic model (about
// 4.4 GB as f32) is written, quantized to w4g128, inspected and sampled from. Minutes and
// gigabytes, so it carries the `slow` label and stays out of the default suite and CI.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "quant/scheme.h"
#include "testing/test_data.h"

namespace lowbit::testing {
namespace {

TEST(SlowScale, TinyLlamaShapedModelQuantizesAndGenerates) {
  TempDir tmp;
  const auto hf = tmp.path() / "hf";
  const auto q = tmp.path() / "q";
  const CommandResult s = run_lowbit("synth --preset tinyllama-1.1b --out " + hf.string());
  ASSERT_EQ(s.exit_code, 0) << s.err;
  const CommandResult r =
      run_lowbit("quantize --model " + hf.string() + " --scheme w4g128 --json --out " + q.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Every linear of TinyLlama is [2048|256|5632, 2048|5632]; w4g128's theory for a 2048-wide
  // row is 4 + 32/128 bits, for the 5632-wide down projection the same (5632 = 44 * 128).
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_NEAR(j.at("bits_per_weight").get<double>(),
              quant::scheme_bits_per_weight(quant::find_scheme("w4g128"), 2048, 2048), 1e-9);
  const CommandResult g = run_lowbit("generate --model " + q.string() + " -n 8 --temp 0 --json");
  ASSERT_EQ(g.exit_code, 0) << g.err;
  EXPECT_FALSE(nlohmann::json::parse(g.out).empty());
}

}  // namespace
}  // namespace lowbit::testing
