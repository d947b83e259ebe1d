// SPDX-License-Identifier: MIT
// `lowbit eval` through the binary: --chunks, --baseline, --head/--embed, default and refused
// --ctx, and text files that are not UTF-8 text.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "testing/test_data.h"

namespace lowbit::testing {
namespace {

nlohmann::json run_json(const std::string& args) {
  const CommandResult r = run_lowbit(args + " --json -t 2");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json::object();
}

TEST(EvalCli, ChunksLimitTheWindowsAndDefaultCtxIsTheModelContext) {
  LB_REQUIRE_DATA(bin, "stories260K/stories260K.bin");
  LB_REQUIRE_DATA(text, "eval/tinystories_valid_part1.txt");
  const auto j = run_json("eval --model " + bin.string() + " --text " + text.string() +
                          " --protocol llamacpp --chunks 3");
  EXPECT_EQ(j["ctx"], 512);  // min(512, the model's 512)
  EXPECT_EQ(j["windows"], 3);
  EXPECT_EQ(j["chunks"], 3);
  EXPECT_EQ(j["scored_tokens"], 3 * (512 - 1 - 256));
  const auto all = run_json("eval --model " + bin.string() + " --text " + text.string() +
                            " --protocol llamacpp --ctx 256");
  EXPECT_GT(all["windows"].get<int64_t>(), 300);
}

TEST(EvalCli, CtxThatScoresNothingOrExceedsTheModelIsRefused) {
  LB_REQUIRE_DATA(bin, "stories260K/stories260K.bin");
  LB_REQUIRE_DATA(text, "eval/tinystories_valid_part1.txt");
  const std::string base = "eval --model " + bin.string() + " --text " + text.string();
  expect_one_line_error(run_lowbit(base + " --ctx 2 --protocol llamacpp"), 2, "--ctx 2");
  expect_one_line_error(run_lowbit(base + " --ctx 1024"), 2, "exceeds the model's context");
}

TEST(EvalCli, TextThatIsNotUtf8OrNotAFileIsRefused) {
  LB_REQUIRE_DATA(bin, "stories260K/stories260K.bin");
  TempDir tmp;
  const auto latin1 = tmp.path() / "latin1.txt";
  write_bytes(latin1, "Once upon a time, caf\xe9 au lait.\n");
  const auto empty = tmp.path() / "empty.txt";
  write_bytes(empty, "");
  const std::string base = "eval --model " + bin.string() + " --text ";
  expect_one_line_error(run_lowbit(base + latin1.string()), 3, "byte offset 21");
  expect_one_line_error(run_lowbit(base + empty.string()), 3, "empty");
  expect_one_line_error(run_lowbit(base + tmp.path().string()), 2, "is a directory");
  expect_one_line_error(run_lowbit(base + (tmp.path() / "missing.txt").string()), 2, "--text");
}

TEST(EvalCli, BaselineComparesTwoFilesOnTheSameWindows) {
  LB_REQUIRE_DATA(bin, "stories260K/stories260K.bin");
  LB_REQUIRE_DATA(gguf, "stories260K/tinyllamas-stories-260k-f32.gguf");
  LB_REQUIRE_DATA(other, "aidreams260K/aidreams260K.bin");
  LB_REQUIRE_DATA(text, "eval/tinystories_valid_part1.txt");
  TempDir tmp;
  const auto q = tmp.path() / "q";
  ASSERT_EQ(run_lowbit("quantize --model " + bin.string() + " --scheme w3g32 --out " + q.string())
                .exit_code,
            0);
  const std::string windows = " --text " + text.string() + " --ctx 128 --chunks 8";
  // The checkpoint against its source equals quantizing on the fly against the f32 model.
  const auto against_file =
      run_json("eval --model " + q.string() + " --baseline " + bin.string() + windows);
  const auto on_the_fly = run_json("eval --model " + bin.string() + " --scheme w3g32" + windows);
  EXPECT_GT(against_file["kld"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(against_file["kld"].get<double>(), on_the_fly["kld"].get<double>());
  EXPECT_DOUBLE_EQ(against_file["ppl"].get<double>(), on_the_fly["ppl"].get<double>());
  EXPECT_DOUBLE_EQ(against_file["baseline_ppl"].get<double>(),
                   on_the_fly["baseline_ppl"].get<double>());
  EXPECT_NEAR(against_file["ppl_delta"].get<double>(),
              against_file["ppl"].get<double>() - against_file["baseline_ppl"].get<double>(), 1e-9);
  EXPECT_EQ(against_file["baseline"], bin.string());
  // The same weights in another container: KL 0, full agreement.
  const auto same =
      run_json("eval --model " + gguf.string() + " --baseline " + bin.string() + windows);
  EXPECT_NEAR(same["kld"].get<double>(), 0.0, 1e-9);
  EXPECT_EQ(same["top1_agreement"], 1.0);
  // aidreams260K has 512 tokens too, but another vocabulary.
  expect_one_line_error(
      run_lowbit("eval --model " + bin.string() + " --baseline " + other.string() + windows), 2,
      "--baseline");
}

TEST(EvalCli, HeadAndEmbedSchemesQuantizeTheTiedTensor) {
  LB_REQUIRE_DATA(bin, "stories260K/stories260K.bin");
  LB_REQUIRE_DATA(text, "eval/tinystories_valid_part1.txt");
  const std::string windows = " --text " + text.string() + " --ctx 128 --chunks 8";
  const auto plain = run_json("eval --model " + bin.string() + " --scheme w8" + windows);
  const auto head =
      run_json("eval --model " + bin.string() + " --scheme w8 --head w2g32" + windows);
  // The linears are the same; the tied embedding/head got 2-bit codes.
  EXPECT_DOUBLE_EQ(head["bits_per_weight"].get<double>(), plain["bits_per_weight"].get<double>());
  EXPECT_LT(head["file_bits_per_weight"].get<double>(),
            plain["file_bits_per_weight"].get<double>());
  EXPECT_LT(head["bytes"].get<double>(), plain["bytes"].get<double>());
  EXPECT_GT(head["kld"].get<double>(), plain["kld"].get<double>());
  EXPECT_EQ(head["scheme"], "w8 head=w2g32");
  expect_one_line_error(
      run_lowbit("eval --model " + bin.string() + " --head w8 --embed w4g32" + windows), 2, "tied");

  TempDir tmp;
  const auto out = tmp.path() / "q";
  const CommandResult q =
      run_lowbit("quantize --model " + bin.string() + " --scheme w4g32 --embed w8 --out " +
                 out.string() + " --json");
  ASSERT_EQ(q.exit_code, 0) << q.err;
  const auto qj = nlohmann::json::parse(q.out);
  EXPECT_LT(qj["file_bits_per_weight"].get<double>(), 32.0);
  const CommandResult ins = run_lowbit("inspect --model " + out.string() + " --json");
  ASSERT_EQ(ins.exit_code, 0) << ins.err;
  const auto inspected = nlohmann::json::parse(ins.out);
  for (const auto& t : inspected["tensors"]) {
    if (t["name"] == "model.embed_tokens.weight") {
      EXPECT_EQ(t["format"], "int8 per-channel sym");
    }
  }
  // The reloaded checkpoint scores as the on-the-fly model does.
  const auto reloaded = run_json("eval --model " + out.string() + windows);
  const auto direct =
      run_json("eval --model " + bin.string() + " --scheme w4g32 --embed w8" + windows);
  EXPECT_EQ(reloaded["ppl"], direct["ppl"]);
}

}  // namespace
}  // namespace lowbit::testing
