// SPDX-License-Identifier: MIT
// `lowbit quantize --format gguf`: the exported file reads back into exactly the tensors the same
// scheme gives with --format lowbit, carries the source's tokenizer, and bad requests (unknown
// --format, a scheme without a GGUF type, a source without GGUF tokenizer keys, an existing
// output) are refused with one line before any work.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "io/gguf.h"
#include "io/gguf_writer.h"
#include "io/model_source.h"
#include "testing/test_data.h"

namespace lowbit::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// tiny_llama.gguf (Q8_0 head, Q5_0 v_proj, the rest dequantized) with a 16-token SPM vocabulary.
fs::path make_source(const TempDir& tmp) {
  const io::GgufFile tiny = io::GgufFile::open(fs::path(LOWBIT_SOURCE_DIR) / "tests" / "fixtures" /
                                               "gguf" / "tiny_llama.gguf");
  json tokens = json::array(), scores = json::array(), types = json::array();
  for (int i = 0; i < 16; ++i) {
    tokens.push_back(i == 0 ? "<unk>" : i == 1 ? "<s>" : i == 2 ? "</s>" : std::string(1, 'a' + i));
    scores.push_back(-1.0 * i);
    types.push_back(i == 0 ? 2 : i < 3 ? 3 : 1);
  }
  using T = io::GgufValueType;
  const std::vector<io::GgufKv> tok = {
      {"tokenizer.ggml.model", T::string, "llama"},
      {"tokenizer.ggml.tokens", T::array, tokens, T::string},
      {"tokenizer.ggml.scores", T::array, scores, T::f32},
      {"tokenizer.ggml.token_type", T::array, types, T::i32},
      {"tokenizer.ggml.bos_token_id", T::u32, 1},
      {"tokenizer.ggml.eos_token_id", T::u32, 2},
  };
  const fs::path path = tmp.path() / "source.gguf";
  io::write_gguf(path, tiny.hf_config(), tiny.hf_tensors(), tok);
  return path;
}

void expect_same_tensors(const TensorMap& a, const TensorMap& b) {
  ASSERT_EQ(a.names(), b.names());
  for (const std::string& name : a.names()) {
    const QuantizedTensor& x = a.at(name);
    const QuantizedTensor& y = b.at(name);
    EXPECT_EQ(x.format, y.format) << name;
    ASSERT_EQ(x.codes.size(), y.codes.size()) << name;
    EXPECT_EQ(std::memcmp(x.codes.data(), y.codes.data(), x.codes.size()), 0) << name;
    ASSERT_EQ(x.scales.size(), y.scales.size()) << name;
    if (x.scales.size() > 0) {
      EXPECT_EQ(std::memcmp(x.scales.data(), y.scales.data(), x.scales.size()), 0) << name;
    }
  }
}

class GgufExport : public ::testing::TestWithParam<const char*> {};

TEST_P(GgufExport, ReadsBackAsTheLowbitCheckpointOfTheSameScheme) {
  TempDir tmp;
  const fs::path src = make_source(tmp);
  const std::string scheme = GetParam();
  const fs::path gguf = tmp.path() / "out.gguf", ckpt = tmp.path() / "ckpt";
  const CommandResult g = run_lowbit("quantize -m " + src.string() + " --scheme " + scheme +
                                     " --format gguf --out " + gguf.string() + " --requantize");
  ASSERT_EQ(g.exit_code, 0) << g.err;
  const CommandResult c = run_lowbit("quantize -m " + src.string() + " --scheme " + scheme +
                                     " --format lowbit --out " + ckpt.string() + " --requantize");
  ASSERT_EQ(c.exit_code, 0) << c.err;
  expect_same_tensors(load_model_source(gguf).tensors, load_model_source(ckpt).tensors);

  const io::GgufFile out = io::GgufFile::open(gguf);
  const io::GgufFile in = io::GgufFile::open(src);
  for (const char* key : {"tokenizer.ggml.tokens", "tokenizer.ggml.scores",
                          "tokenizer.ggml.token_type", "tokenizer.ggml.model"})
    EXPECT_EQ(out.metadata().at(key), in.metadata().at(key)) << key;
  EXPECT_EQ(out.hf_config(), in.hf_config());
  // ffn_down rows are 32 wide: whole blocks, so they get the scheme's type too.
  const uint32_t expected = scheme == "q4_0"     ? io::kGgmlQ4_0
                            : scheme == "q4_1"   ? io::kGgmlQ4_1
                            : scheme == "q5_0"   ? io::kGgmlQ5_0
                            : scheme == "q5_1"   ? io::kGgmlQ5_1
                            : scheme == "iq4_nl" ? io::kGgmlIQ4_NL
                            : scheme == "q8_0"   ? io::kGgmlQ8_0
                            : scheme == "f16"    ? io::kGgmlF16
                                                 : io::kGgmlBF16;
  for (const char* name : {"blk.0.attn_q.weight", "blk.0.ffn_down.weight", "blk.0.ffn_up.weight"})
    EXPECT_EQ(out.find(name)->type, expected) << name;
  EXPECT_EQ(out.find("blk.0.attn_norm.weight")->type, io::kGgmlF32);

  // inspect lists every tensor with its stored ggml type and real bits per weight.
  const CommandResult ins = run_lowbit("inspect -m " + gguf.string() + " --json");
  ASSERT_EQ(ins.exit_code, 0) << ins.err;
  const json info = json::parse(ins.out);
  ASSERT_EQ(info.at("tensors").size(), out.tensors().size());
  const double bits = scheme == "q4_0"     ? 4.5
                      : scheme == "q4_1"   ? 5.0
                      : scheme == "iq4_nl" ? 4.5
                      : scheme == "q5_0"   ? 5.5
                      : scheme == "q5_1"   ? 6.0
                      : scheme == "q8_0"   ? 8.5
                                           : 16;
  EXPECT_DOUBLE_EQ(info.at("stored_bits_per_weight").get<double>(), bits);
  for (const json& t : info.at("tensors"))
    if (t.at("name") == "model.layers.0.self_attn.q_proj.weight") {
      EXPECT_EQ(t.at("stored_type"), io::ggml_type_name(expected));
      EXPECT_DOUBLE_EQ(t.at("bits_per_weight").get<double>(), bits);
    }

  // The exported model evaluates against its source.
  const fs::path text = tmp.path() / "text.txt";
  write_bytes(text, "abc de abc cd ab a b c d e abcde ab cd e a bc de abc abc abc cd de");
  const CommandResult e = run_lowbit("eval -m " + gguf.string() + " --baseline " + src.string() +
                                     " --text " + text.string() + " --ctx 8 --chunks 2 --json");
  EXPECT_EQ(e.exit_code, 0) << e.err;
}

INSTANTIATE_TEST_SUITE_P(Schemes, GgufExport,
                         ::testing::Values("q4_0", "q4_1", "q5_0", "q5_1", "iq4_nl", "q8_0", "f16",
                                           "bf16"));

// A GGUF in a format only ggml makes (here IQ4_NL; Q4_1, the k-quants alike) is quantized again
// from its decoded values without --requantize, as when such tensors loaded as f32; one in
// lowbit's own symmetric formats (Q4_0) still needs it.
TEST(GgufExport, GgmlOnlyFormatsRequantizeFromTheirDecodedValues) {
  TempDir tmp;
  const fs::path src = make_source(tmp);
  const fs::path iq4 = tmp.path() / "iq4.gguf", q40 = tmp.path() / "q40.gguf";
  for (const auto& [scheme, out] : {std::pair{"iq4_nl", iq4}, std::pair{"q4_0", q40}}) {
    const CommandResult e = run_lowbit("quantize -m " + src.string() + " --requantize --scheme " +
                                       scheme + " --format gguf --out " + out.string());
    ASSERT_EQ(e.exit_code, 0) << e.err;
  }
  const CommandResult again = run_lowbit("quantize -m " + iq4.string() + " --scheme w8 --out " +
                                         (tmp.path() / "a").string());
  EXPECT_EQ(again.exit_code, 0) << again.err;
  expect_one_line_error(run_lowbit("quantize -m " + q40.string() + " --scheme w8 --out " +
                                   (tmp.path() / "b").string()),
                        2, "pass --requantize");
}

// --tensor-type gives the matching block linears their own GGUF type (llama-quantize's mixes);
// general.file_type stays the --scheme's.
TEST(GgufExport, TensorTypeRulesGiveEachLinearItsOwnType) {
  TempDir tmp;
  const fs::path src = make_source(tmp);
  const fs::path out = tmp.path() / "mixed.gguf";
  const CommandResult r = run_lowbit(
      "quantize -m " + src.string() + " --requantize --scheme q4_0 --tensor-type " +
      "attn_v=q8_0 --tensor-type 'blk\\.0\\.ffn_down=q8_0' --format gguf --out " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  constexpr uint32_t kQ4_0 = 2, kQ8_0 = 8;
  int v = 0, down0 = 0, q4 = 0;
  const io::GgufFile file = io::GgufFile::open(out);
  for (const io::GgufTensorInfo& t : file.tensors()) {
    if (!t.name.starts_with("blk.") || t.ne.size() != 2) continue;
    if (t.name.find("attn_v") != std::string::npos) {
      EXPECT_EQ(t.type, kQ8_0) << t.name;
      ++v;
    } else if (t.name == "blk.0.ffn_down.weight") {
      EXPECT_EQ(t.type, kQ8_0) << t.name;
      ++down0;
    } else {
      EXPECT_EQ(t.type, kQ4_0) << t.name;
      ++q4;
    }
  }
  EXPECT_GT(v, 0);
  EXPECT_EQ(down0, 1);
  EXPECT_GT(q4, 0);
  expect_one_line_error(run_lowbit("quantize -m " + src.string() + " --requantize --scheme q4_0 " +
                                   "--tensor-type attn_v=w3g128 --format gguf --out " +
                                   (tmp.path() / "bad.gguf").string()),
                        2, "--tensor-type w3g128");
}

TEST(GgufExportErrors, RefusedWithOneLineBeforeAnyWork) {
  TempDir tmp;
  const fs::path src = make_source(tmp);
  const std::string out = (tmp.path() / "out.gguf").string();
  const std::string base = "quantize -m " + src.string() + " --requantize --out " + out + " ";
  expect_one_line_error(run_lowbit(base + "--scheme q4_0 --format onnx"), 2,
                        "--format 'onnx' is not an output format (choose lowbit, gguf, "
                        "compressed-tensors, gptq or awq)");
  expect_one_line_error(run_lowbit(base + "--scheme w4g128 --format gguf"), 2,
                        "--scheme w4g128 (int4 g128 asym) has no GGUF equivalent; the nearest "
                        "GGUF scheme is q4_1");
  expect_one_line_error(run_lowbit(base + "--scheme w6 --format gguf"), 2,
                        "the nearest GGUF scheme is q5_0");
  expect_one_line_error(run_lowbit(base + "--scheme w4g128-sym --format gguf"), 2,
                        "the nearest GGUF scheme is q4_0");
  expect_one_line_error(run_lowbit(base + "--scheme fp8 --format gguf"), 2,
                        "the nearest GGUF scheme is q8_0");
  expect_one_line_error(run_lowbit(base + "--scheme q8_0 --embed nf4 --format gguf"), 2,
                        "--embed nf4");
  expect_one_line_error(run_lowbit(base + "--scheme tcq3 --format gguf"), 2,
                        "--scheme tcq3 (trellis3 L12) has no GGUF equivalent");
  EXPECT_FALSE(fs::exists(out));

  // An existing GGUF is replaced only with --force; anything else never.
  ASSERT_EQ(run_lowbit(base + "--scheme q8_0 --format gguf").exit_code, 0);
  expect_one_line_error(run_lowbit(base + "--scheme q4_0 --format gguf"), 2, "pass --force");
  const CommandResult forced = run_lowbit(base + "--scheme q4_0 --format gguf --force");
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_EQ(io::GgufFile::open(out).find("blk.0.attn_q.weight")->type, io::kGgmlQ4_0);
  const fs::path text = tmp.path() / "notes.txt";
  write_bytes(text, "not a model");
  expect_one_line_error(
      run_lowbit("quantize -m " + src.string() +
                 " --requantize --scheme q4_0 --format gguf --force --out " + text.string()),
      2, "exists and is not a GGUF file");

  // A lowbit checkpoint keeps a SentencePiece vocabulary (tokenizer.bin): exported as GGUF keys.
  const fs::path ckpt = tmp.path() / "ckpt";
  ASSERT_EQ(run_lowbit("quantize -m " + src.string() + " --requantize --scheme q8_0 --out " +
                       ckpt.string())
                .exit_code,
            0);
  const fs::path from_ckpt = tmp.path() / "from_ckpt.gguf";
  const CommandResult re =
      run_lowbit("quantize -m " + ckpt.string() +
                 " --requantize --scheme q4_0 --format gguf --out " + from_ckpt.string());
  ASSERT_EQ(re.exit_code, 0) << re.err;
  const io::GgufFile a = io::GgufFile::open(src), b = io::GgufFile::open(from_ckpt);
  for (const char* key : {"tokenizer.ggml.tokens", "tokenizer.ggml.scores",
                          "tokenizer.ggml.token_type", "tokenizer.ggml.bos_token_id"})
    EXPECT_EQ(b.metadata().at(key), a.metadata().at(key)) << key;

  // The synthetic model's tokenizer.json normalizes spaces to U+2581 (Prepend + Replace), which
  // a GGUF gpt2 vocabulary cannot say: refused, naming the file, and nothing is written.
  const fs::path hf = tmp.path() / "hf";
  ASSERT_EQ(run_lowbit("synth --preset tiny --out " + hf.string()).exit_code, 0);
  const fs::path x = tmp.path() / "x.gguf";
  expect_one_line_error(
      run_lowbit("quantize -m " + hf.string() + " --scheme q4_0 --format gguf --out " + x.string()),
      4, (hf / "tokenizer.json").string() + ": a Sequence normalizer has no GGUF gpt2 equivalent");
  EXPECT_FALSE(fs::exists(x));
}

// llama2.c stories260K exported as f32 GGUF is llama.cpp's own conversion of it (the shared
// tinyllamas-stories-260k-f32.gguf): the same tensors bit for bit, the same vocabulary, and
// the same tokens for a text.
TEST(GgufExportReal, Llama2cExportMatchesLlamaCppsConversion) {
  LB_REQUIRE_DATA(bin, "stories260K/stories260K.bin");
  LB_REQUIRE_DATA(ref, "stories260K/tinyllamas-stories-260k-f32.gguf");
  TempDir tmp;
  const fs::path out = tmp.path() / "stories.gguf";
  const CommandResult q = run_lowbit("quantize -m " + bin.string() +
                                     " --scheme f32 --format gguf --out " + out.string());
  ASSERT_EQ(q.exit_code, 0) << q.err;
  const ModelSource mine = load_model_source(out);
  const ModelSource theirs = load_model_source(ref);
  std::vector<std::string> a = mine.tensors.names(), b = theirs.tensors.names();
  ASSERT_EQ(a, b);
  expect_same_tensors(mine.tensors, theirs.tensors);
  const io::GgufFile g = io::GgufFile::open(out), r = io::GgufFile::open(ref);
  EXPECT_EQ(g.metadata().at("tokenizer.ggml.tokens"), r.metadata().at("tokenizer.ggml.tokens"));
  ASSERT_TRUE(mine.tokenizer && theirs.tokenizer);
  const std::string text = "Once upon a time, Lily saw a big red ball in the park.";
  EXPECT_EQ(mine.tokenizer->encode(text, true), theirs.tokenizer->encode(text, true));
}

// Real weights: rows that are not whole blocks of 32 (stories260K's FFN width 172) fall back to
// F16 as llama.cpp does, and the export evaluates against its source.
TEST(GgufExportReal, StoriesFallsBackToF16ForRaggedRows) {
  LB_REQUIRE_DATA(src, "stories260K/tinyllamas-stories-260k-f32.gguf");
  LB_REQUIRE_DATA(text, "eval/tinystories_valid_part1.txt");
  TempDir tmp;
  const fs::path out = tmp.path() / "q8.gguf";
  const CommandResult q = run_lowbit("quantize -m " + src.string() + " --scheme q8_0 --format " +
                                     "gguf --out " + out.string());
  ASSERT_EQ(q.exit_code, 0) << q.err;
  EXPECT_NE(q.err.find("172 columns are not whole blocks of 32; written as F16"), std::string::npos)
      << q.err;
  const io::GgufFile g = io::GgufFile::open(out);
  EXPECT_EQ(g.find("blk.0.ffn_down.weight")->type, io::kGgmlF16);
  EXPECT_EQ(g.find("blk.0.ffn_up.weight")->type, io::kGgmlQ8_0);
  EXPECT_EQ(g.metadata().at("tokenizer.ggml.tokens").size(), 512u);
  const CommandResult e = run_lowbit("eval -m " + out.string() + " --baseline " + src.string() +
                                     " --text " + text.string() + " --ctx 128 --chunks 4 --json");
  ASSERT_EQ(e.exit_code, 0) << e.err;
  const json j = json::parse(e.out);
  EXPECT_LT(j.at("kld").get<double>(), 0.01) << e.out;
  EXPECT_GT(j.at("scored_tokens").get<int64_t>(), 0);
}

// SmolLM2-135M: q4_0 exported to GGUF is, tensor for tensor, the q4_0 lowbit checkpoint, and
// every linear is Q4_0 (576 and 1536 columns are whole blocks, so nothing falls back).
TEST(GgufExportReal, SmolLm2Q4_0IsTheLowbitCheckpoint) {
  LB_REQUIRE_DATA(src, "smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf");
  TempDir tmp;
  const fs::path gguf = tmp.path() / "q4_0.gguf", ckpt = tmp.path() / "q4_0";
  const CommandResult g = run_lowbit("quantize -m " + src.string() +
                                     " --scheme q4_0 --format gguf --out " + gguf.string());
  ASSERT_EQ(g.exit_code, 0) << g.err;
  EXPECT_EQ(g.err.find("fallback"), std::string::npos) << g.err;
  const CommandResult c =
      run_lowbit("quantize -m " + src.string() + " --scheme q4_0 --out " + ckpt.string());
  ASSERT_EQ(c.exit_code, 0) << c.err;
  expect_same_tensors(load_model_source(gguf, {}, false).tensors,
                      load_model_source(ckpt, {}, false).tensors);
  const io::GgufFile out = io::GgufFile::open(gguf);
  const io::GgufFile in = io::GgufFile::open(src);
  int q4 = 0;
  for (const io::GgufTensorInfo& t : out.tensors()) q4 += t.type == io::kGgmlQ4_0;
  EXPECT_EQ(q4, 30 * 7);
  EXPECT_EQ(out.metadata().at("tokenizer.ggml.merges"), in.metadata().at("tokenizer.ggml.merges"));
  EXPECT_EQ(out.metadata().at("tokenizer.ggml.pre"), in.metadata().at("tokenizer.ggml.pre"));
  EXPECT_EQ(out.metadata().at("general.file_type"), 2);
  EXPECT_EQ(out.hf_config(), in.hf_config());
}

// SmolLM2-135M's byte-level BPE vocabulary survives GGUF -> lowbit checkpoint (tokenizer.json)
// -> GGUF: the same tokens, token types, merges and special ids, a pre-tokenizer label with the
// same regexes, and the same token ids for the whole WikiText-2 test file.
TEST(GgufExportReal, SmolLm2BpeTokenizerRoundTripsThroughTokenizerJson) {
  LB_REQUIRE_DATA(src, "smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf");
  LB_REQUIRE_DATA(text_path, "eval/wikitext2_test.raw.txt");
  TempDir tmp;
  const fs::path ckpt = tmp.path() / "ckpt", gguf = tmp.path() / "back.gguf";
  const CommandResult c =
      run_lowbit("quantize -m " + src.string() + " --scheme q8_0 --out " + ckpt.string());
  ASSERT_EQ(c.exit_code, 0) << c.err;
  ASSERT_TRUE(fs::exists(ckpt / "tokenizer.json"));
  const CommandResult g =
      run_lowbit("quantize -m " + ckpt.string() +
                 " --requantize --scheme q8_0 --format gguf --out " + gguf.string());
  ASSERT_EQ(g.exit_code, 0) << g.err;
  const io::GgufFile a = io::GgufFile::open(src), b = io::GgufFile::open(gguf);
  for (const char* key :
       {"tokenizer.ggml.model", "tokenizer.ggml.tokens", "tokenizer.ggml.token_type",
        "tokenizer.ggml.merges", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
        "tokenizer.ggml.add_bos_token"})
    EXPECT_EQ(b.metadata().at(key), a.metadata().at(key)) << key;
  // "smollm" shares its regexes with "starcoder" (the first label of that row).
  EXPECT_EQ(b.metadata().at("tokenizer.ggml.pre"), "starcoder");
  const ModelSource from_original = load_model_source(src);
  const ModelSource from_export = load_model_source(gguf);
  ASSERT_NE(from_original.tokenizer, nullptr);
  ASSERT_NE(from_export.tokenizer, nullptr);
  std::ifstream in(text_path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::vector<int32_t> want = from_original.tokenizer->encode(text, true);
  EXPECT_GT(want.size(), 250000u);
  EXPECT_EQ(from_export.tokenizer->encode(text, true), want);
}

// SmolLM2-135M as q4_k: down_proj rows (1536 = 6 x 256) are Q4_K super-blocks, the 576-wide
// rows fall back to Q5_0 as llama-quantize does; the GGUF reads back as the lowbit checkpoint.
TEST(GgufExportReal, SmolLm2Q4KFallsBackWhereRowsAreNotSuperBlocks) {
  LB_REQUIRE_DATA(src, "smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf");
  TempDir tmp;
  const fs::path gguf = tmp.path() / "q4_k.gguf", ckpt = tmp.path() / "q4_k";
  const CommandResult g = run_lowbit("quantize -m " + src.string() +
                                     " --scheme q4_k --format gguf --out " + gguf.string());
  ASSERT_EQ(g.exit_code, 0) << g.err;
  const CommandResult c =
      run_lowbit("quantize -m " + src.string() + " --scheme q4_k --out " + ckpt.string());
  ASSERT_EQ(c.exit_code, 0) << c.err;
  expect_same_tensors(load_model_source(gguf, {}, false).tensors,
                      load_model_source(ckpt, {}, false).tensors);
  const io::GgufFile out = io::GgufFile::open(gguf);
  int q4k = 0, q50 = 0;
  for (const io::GgufTensorInfo& t : out.tensors()) {
    q4k += t.type == io::kGgmlQ4_K;
    q50 += t.type == io::kGgmlQ5_0;
    if (t.type == io::kGgmlQ4_K) {
      EXPECT_NE(t.name.find("ffn_down"), std::string::npos) << t.name;
    }
  }
  EXPECT_EQ(q4k, 30);
  EXPECT_EQ(q50, 30 * 6);
  EXPECT_EQ(out.metadata().at("general.file_type"), 14);  // MOSTLY_Q4_K_S
}

// SmolLM2-135M ships as llama.cpp's Q4_1. lowbit holds those tensors packed (codes, d and m
// bit for bit); quantizing their decoded values again with the q4_1 scheme (ggml's reference
// rule) and writing GGUF gives back the published file's bytes for every Q4_1 tensor.
TEST(GgufExportReal, SmolLm2Q4_1ReproducesThePublishedFile) {
  LB_REQUIRE_DATA(src, "smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf");
  TempDir tmp;
  const fs::path gguf = tmp.path() / "q4_1.gguf";
  const CommandResult g = run_lowbit("quantize -m " + src.string() +
                                     " --scheme q4_1 --format gguf --out " + gguf.string());
  ASSERT_EQ(g.exit_code, 0) << g.err;
  const io::GgufFile out = io::GgufFile::open(gguf);
  const io::GgufFile in = io::GgufFile::open(src);
  int q41 = 0;
  for (const io::GgufTensorInfo& t : in.tensors()) {
    if (t.type != io::kGgmlQ4_1) continue;
    const io::GgufTensorInfo* o = out.find(t.name);
    ASSERT_NE(o, nullptr) << t.name;
    ASSERT_EQ(o->type, io::kGgmlQ4_1) << t.name;
    ASSERT_EQ(o->size, t.size) << t.name;
    EXPECT_EQ(std::memcmp(o->data, t.data, t.size), 0) << t.name;
    ++q41;
  }
  EXPECT_EQ(q41, 30 * 7);
  EXPECT_EQ(out.metadata().at("general.file_type"), 3);  // MOSTLY_Q4_1
}

}  // namespace
}  // namespace lowbit::testing
