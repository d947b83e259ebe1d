// SPDX-License-Identifier: MIT
// Bad input through the CLI gives one line on stderr and a non-zero exit, never a crash.
#include <gtest/gtest.h>

#include <fstream>

#include "testing/test_data.h"

namespace lowbit::testing {
namespace {

void write(const std::filesystem::path& p, const std::string& bytes) { write_bytes(p, bytes); }

TEST(CliErrors, UnknownSchemeAndFlags) {
  LB_REQUIRE_DATA(bin, "stories260K/stories260K.bin");
  TempDir tmp;
  expect_one_line_error(run_lowbit("quantize --model " + bin.string() + " --scheme w5x7 --out " +
                                   (tmp.path() / "q").string()),
                        2, "unknown scheme 'w5x7'");
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "q"));
  expect_one_line_error(
      run_lowbit("eval --model " + bin.string() + " --text " + bin.string() + " --bogus"), 2,
      "--bogus");
  expect_one_line_error(run_lowbit("frobnicate"), 2, "frobnicate");
}

// --tensor-type rules are never dropped silently: each command refuses a malformed rule, a rule
// without --scheme and a rule that matches no linear, with one line naming the flag.
TEST(CliErrors, TensorTypeRulesAreCheckedByEveryCommand) {
  LB_REQUIRE_DATA(bin, "stories260K/stories260K.bin");
  TempDir tmp;
  const std::string m = " --model " + bin.string();
  const std::filesystem::path text = tmp.path() / "text.txt";
  write(text, std::string(4000, 'a') + "\n");
  const std::string commands[] = {"quantize" + m + " --out " + (tmp.path() / "q").string(),
                                  "eval" + m + " --text " + text.string(),
                                  "bench" + m + " -p 8 -n 2 -r 1"};
  for (const std::string& c : commands) {
    expect_one_line_error(run_lowbit(c + " --tensor-type v_proj=w8"), 2, "needs --scheme");
    expect_one_line_error(run_lowbit(c + " --scheme w4g32 --tensor-type vproj=w8"), 2,
                          "--tensor-type vproj=w8 matches no block linear");
    expect_one_line_error(run_lowbit(c + " --scheme w4g32 --tensor-type v_proj"), 2,
                          "expected REGEX=SCHEME");
    expect_one_line_error(run_lowbit(c + " --scheme w4g32 --tensor-type 'v(=w8'"), 2,
                          "not a valid regular expression");
    expect_one_line_error(run_lowbit(c + " --scheme w4g32 --tensor-type v_proj=w5x7"), 2,
                          "unknown scheme 'w5x7'");
  }
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "q"));
}

TEST(CliErrors, MissingTokenizerIsNamed) {
  LB_REQUIRE_DATA(bin, "stories260K/stories260K.bin");
  TempDir tmp;
  std::filesystem::copy_file(bin, tmp.path() / "model.bin");
  write(tmp.path() / "text.txt", "Once upon a time");
  expect_one_line_error(run_lowbit("eval --model " + (tmp.path() / "model.bin").string() +
                                   " --text " + (tmp.path() / "text.txt").string()),
                        2, "tokenizer");
}

TEST(CliErrors, MalformedConfigJson) {
  TempDir tmp;
  write(tmp.path() / "config.json", "{\"hidden_size\": 64,, }");
  write(tmp.path() / "model.safetensors", "");
  expect_one_line_error(run_lowbit("inspect --model " + tmp.path().string()), 3, "config.json");
}

TEST(CliErrors, ConfigMissingFieldIsNamed) {
  TempDir tmp;
  write(tmp.path() / "config.json", "{\"hidden_size\": 64}");
  expect_one_line_error(run_lowbit("inspect --model " + tmp.path().string()), 3,
                        "intermediate_size");
}

TEST(CliErrors, TruncatedFiles) {
  LB_REQUIRE_DATA(bin, "stories260K/stories260K.bin");
  LB_REQUIRE_DATA(gguf, "stories260K/tinyllamas-stories-260k-f32.gguf");
  TempDir tmp;
  for (const auto& src : {bin, gguf}) {
    std::ifstream in(src, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto cut = tmp.path() / ("cut" + src.extension().string());
    write(cut, bytes.substr(0, bytes.size() / 2));
    expect_one_line_error(run_lowbit("inspect --model " + cut.string()), 3, cut.string());
  }
  const auto st = tmp.path() / "hf";
  std::filesystem::create_directories(st);
  write(st / "config.json", R"({"hidden_size":64,"intermediate_size":172,"num_hidden_layers":1,)"
                            R"("num_attention_heads":8,"vocab_size":512})");
  write(st / "model.safetensors", std::string("\xff\xff\xff\xff\xff\xff\xff\x7f{}", 10));
  expect_one_line_error(run_lowbit("inspect --model " + st.string()), 3, "model.safetensors");
}

TEST(CliErrors, NanWeightIsNamed) {
  LB_REQUIRE_DATA(bin, "stories260K/stories260K.bin");
  TempDir tmp;
  std::ifstream in(bin, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // llama2.c layout: 28-byte header, token_embedding [512, 64], rms_att [5, 64], then wq of
  // layer 0; element 70 of wq is row 1, column 6.
  const size_t offset = 28 + 4 * (512 * 64 + 5 * 64) + 4 * 70;
  const uint32_t nan_bits = 0x7FC00000u;
  bytes.replace(offset, 4, reinterpret_cast<const char*>(&nan_bits), 4);
  const auto model = tmp.path() / "nan.bin";
  write(model, bytes);
  std::filesystem::copy_file(bin.parent_path() / "tok512.bin", tmp.path() / "tok512.bin");
  write(tmp.path() / "text.txt", std::string(2000, 'a'));
  const std::string name = "model.layers.0.self_attn.q_proj.weight: non-finite weight at row 1";
  expect_one_line_error(run_lowbit("quantize --model " + model.string() + " --scheme w4g32 --out " +
                                   (tmp.path() / "q").string()),
                        3, name);
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "q"));
  expect_one_line_error(run_lowbit("eval --model " + model.string() + " --text " +
                                   (tmp.path() / "text.txt").string() + " --ctx 64"),
                        3, name);
}

// An HF directory whose model.safetensors has the given JSON header and `data` bytes.
std::filesystem::path hf_with_header(const TempDir& tmp, const std::string& header,
                                     size_t data_bytes) {
  const auto dir = tmp.path() / "hf";
  std::filesystem::create_directories(dir);
  write(dir / "config.json", R"({"hidden_size":64,"intermediate_size":172,"num_hidden_layers":1,)"
                             R"("num_attention_heads":8,"vocab_size":512})");
  std::string bytes(8, '\0');
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i)
    bytes[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xFF);
  write(dir / "model.safetensors", bytes + header + std::string(data_bytes, '\0'));
  return dir;
}

TEST(CliErrors, OverlappingSafetensorsOffsets) {
  TempDir tmp;
  const auto dir = hf_with_header(tmp,
                                  R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                                  R"("b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})",
                                  24);
  expect_one_line_error(run_lowbit("inspect --model " + dir.string()), 3, "model.safetensors");
}

TEST(CliErrors, WrongSafetensorsDtypeSize) {
  TempDir tmp;
  const auto dir =
      hf_with_header(tmp, R"({"a":{"dtype":"F16","shape":[4],"data_offsets":[0,16]}})", 16);
  expect_one_line_error(run_lowbit("inspect --model " + dir.string()), 3, "model.safetensors");
  TempDir tmp2;
  const auto dir2 =
      hf_with_header(tmp2, R"({"a":{"dtype":"Q9","shape":[4],"data_offsets":[0,16]}})", 16);
  expect_one_line_error(run_lowbit("inspect --model " + dir2.string()), 3, "model.safetensors");
}

TEST(CliErrors, MissingModelPath) {
  expect_one_line_error(run_lowbit("inspect --model /nonexistent/model.bin"), 2,
                        "/nonexistent/model.bin");
}

}  // namespace
}  // namespace lowbit::testing
