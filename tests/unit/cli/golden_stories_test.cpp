// SPDX-License-Identifier: MIT
// End-to-end acceptance on the real stories260K model (llama2.c .bin and GGUF v1): greedy
// generation matches llama2.c's documented output token for token, and perplexity under the
// llama.cpp protocol matches llama.cpp's own numbers (../shared/data/PROVENANCE.md, issue 2).
#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "testing/test_data.h"

namespace lowbit::testing {
namespace {

// llama2.c doc/stories260K.md: `./run stories260K.bin -z tok512.bin -t 0.0` (BOS + 256 tokens).
const char* const kReference =
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the "
    "park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.\n"
    "Lily's mom said, \"Lily, let's go to the park.\" Lily was sad and didn't know what to do. "
    "She said, \"I want to play with your ball, but I can't find it.\"\n"
    "Lily was sad and didn't know what to do. She said, \"I'm sorry, Lily. I didn't know what "
    "to do.\"\n"
    "Lily didn't want to help her mom, so she said, \"I'm sorry, mom. I didn't know what to "
    "do.\" Her mom said, \"Don't worry, Lily. We can help you.";

TEST(GoldenStories, GreedyGenerationFromBinMatchesLlama2c) {
  LB_REQUIRE_DATA(bin, "stories260K/stories260K.bin");
  const CommandResult r =
      run_lowbit("generate --model " + bin.string() + " -n 256 --temp 0 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["tokens"].size(), 256u);
  const std::string text = j["text"];
  EXPECT_EQ(text.substr(0, std::string(kReference).size()), kReference);
}

TEST(GoldenStories, BinAndGgufGiveIdenticalTokens) {
  LB_REQUIRE_DATA(bin, "stories260K/stories260K.bin");
  LB_REQUIRE_DATA(gguf, "stories260K/tinyllamas-stories-260k-f32.gguf");
  const CommandResult a = run_lowbit("generate --model " + bin.string() + " -n 256 --json");
  const CommandResult b = run_lowbit("generate --model " + gguf.string() + " -n 256 --json");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(nlohmann::json::parse(a.out)["tokens"], nlohmann::json::parse(b.out)["tokens"]);
  EXPECT_EQ(nlohmann::json::parse(a.out)["text"], nlohmann::json::parse(b.out)["text"]);
}

// llama.cpp's perplexity tool on this model (F32 GGUF): 193,801 tokens, 378 windows of 512,
// 96,390 scored tokens, PPL = 4.2812 +/- 0.0266.
void expect_llamacpp_numbers(const std::filesystem::path& model) {
  LB_REQUIRE_DATA(text, "eval/tinystories_valid_part1.txt");
  const CommandResult r = run_lowbit("eval --model " + model.string() + " --text " + text.string() +
                                     " --protocol llamacpp --ctx 512 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["tokens"], 193801);
  EXPECT_EQ(j["windows"], 378);
  EXPECT_EQ(j["scored_tokens"], 96390);
  EXPECT_EQ(j["protocol"], "llamacpp");
  // The same to 4 significant digits: 4.281.
  EXPECT_EQ(std::lround(j["ppl"].get<double>() * 1000.0), 4281) << j["ppl"];
  EXPECT_NEAR(j["ppl_stderr"].get<double>(), 0.0266, 0.0005);
  EXPECT_NEAR(j["bits_per_weight"].get<double>(), 32.0, 1e-9);
}

TEST(GoldenStories, PerplexityMatchesLlamaCppOnBin) {
  LB_REQUIRE_DATA(bin, "stories260K/stories260K.bin");
  expect_llamacpp_numbers(bin);
}

TEST(GoldenStories, PerplexityMatchesLlamaCppOnGguf) {
  LB_REQUIRE_DATA(gguf, "stories260K/tinyllamas-stories-260k-f32.gguf");
  expect_llamacpp_numbers(gguf);
}

}  // namespace
}  // namespace lowbit::testing
