// SPDX-License-Identifier: MIT
// The same commands work unchanged on other real and synthetic shapes: aidreams260K (MHA,
// 4 layers, its own vocabulary, seq_len 128) and synthetic HF directories with GQA.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "testing/test_data.h"

namespace lowbit::testing {
namespace {

TEST(Models, Aidreams260KGeneratesAndEvaluates) {
  LB_REQUIRE_DATA(bin, "aidreams260K/aidreams260K.bin");
  LB_REQUIRE_DATA(text, "eval/tinystories_valid_part1.txt");
  const CommandResult g = run_lowbit("generate --model " + bin.string() + " -n 60 --json");
  ASSERT_EQ(g.exit_code, 0) << g.err;
  const auto gj = nlohmann::json::parse(g.out);
  EXPECT_GT(gj["text"].get<std::string>().size(), 60u);
  const CommandResult e = run_lowbit("eval --model " + bin.string() + " --text " + text.string() +
                                     " --ctx 128 --max-windows 50 --json --scheme w4g32");
  ASSERT_EQ(e.exit_code, 0) << e.err;
  const auto j = nlohmann::json::parse(e.out);
  // Out of domain (PROVENANCE.md: ppl ~235 under a paragraph protocol): large but finite.
  EXPECT_GT(j["baseline_ppl"].get<double>(), 100.0);
  EXPECT_LT(j["baseline_ppl"].get<double>(), 600.0);
  EXPECT_EQ(j["scored_tokens"], 50 * 127);
  EXPECT_GT(j["kld"].get<double>(), 0.0);
  const CommandResult i = run_lowbit("inspect --model " + bin.string() + " --json");
  ASSERT_EQ(i.exit_code, 0) << i.err;
  EXPECT_EQ(nlohmann::json::parse(i.out)["parameters"], 230976);
}

TEST(Models, SyntheticHfDirectoryEndToEnd) {
  LB_REQUIRE_DATA(text, "eval/tinystories_valid_part1.txt");
  TempDir tmp;
  const auto hf = tmp.path() / "hf";
  const CommandResult s =
      run_lowbit("synth --preset tiny --vocab 700 --kv-heads 1 --seed 9 --out " + hf.string());
  ASSERT_EQ(s.exit_code, 0) << s.err;
  const CommandResult q = run_lowbit("quantize --model " + hf.string() + " --scheme nf4-dq --out " +
                                     (tmp.path() / "q").string());
  ASSERT_EQ(q.exit_code, 0) << q.err;
  for (const auto& model : {hf, tmp.path() / "q"}) {
    const CommandResult g = run_lowbit("generate --model " + model.string() +
                                       " --prompt 'Once upon' -n 20 --temp 0.8 --seed 3 --json");
    ASSERT_EQ(g.exit_code, 0) << g.err;
    // Same seed, same output.
    const CommandResult again =
        run_lowbit("generate --model " + model.string() +
                   " --prompt 'Once upon' -n 20 --temp 0.8 --seed 3 --json -t 1");
    EXPECT_EQ(nlohmann::json::parse(g.out)["tokens"], nlohmann::json::parse(again.out)["tokens"]);
  }
  const CommandResult e = run_lowbit("eval --model " + hf.string() + " --text " + text.string() +
                                     " --ctx 64 --max-windows 4 --json");
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_EQ(nlohmann::json::parse(e.out)["windows"], 4);
}

}  // namespace
}  // namespace lowbit::testing
