// SPDX-License-Identifier: MIT
// GGUF "gpt2" vocabularies: metadata made from the byte-level tokenizer.json fixtures must give
// `tokenizers`' ids, save() must round-trip through load_tokenizer_json, bad metadata must fail.
#include "io/tokenizer_gguf.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "io/gguf.h"
#include "testing/test_data.h"
#include "util/error.h"

namespace lowbit {
namespace {

namespace fs = std::filesystem;
using Ids = std::vector<int32_t>;
using nlohmann::json;

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

fs::path fixture(const std::string& name) {
  return fs::path(LOWBIT_SOURCE_DIR) / "tests" / "fixtures" / "tokenizer" / name;
}

json load_json(const std::string& name) { return json::parse(slurp(fixture(name))); }

// GGUF tokenizer metadata equivalent to fixture <name>.json: tokens in id order, token_type 3
// for special added tokens (4 for other added tokens), merges as "a b"; BOS and EOS ids as the
// original files have them (<|endoftext|> is both for Qwen2 and GPT-2).
json gguf_metadata(const std::string& name) {
  const json root = load_json(name + ".json");
  const json& vocab = root.at("model").at("vocab");
  std::vector<std::string> tokens(vocab.size());
  for (const auto& [piece, id] : vocab.items()) tokens.at(id.get<size_t>()) = piece;
  std::vector<int32_t> types(tokens.size(), 1);
  for (const json& added : root.at("added_tokens")) {
    types.at(added.at("id").get<size_t>()) = added.at("special").get<bool>() ? 3 : 4;
  }
  json merges = json::array();
  for (const json& m : root.at("model").at("merges")) {
    merges.push_back(m.is_string() ? m
                                   : json(m[0].get<std::string>() + " " + m[1].get<std::string>()));
  }
  json meta = json::object();
  meta["general.architecture"] = "llama";
  meta["tokenizer.ggml.model"] = "gpt2";
  meta["tokenizer.ggml.pre"] = name == "llama3" ? "llama-bpe" : name == "qwen2" ? "qwen2" : "gpt-2";
  meta["tokenizer.ggml.tokens"] = tokens;
  meta["tokenizer.ggml.token_type"] = types;
  meta["tokenizer.ggml.merges"] = merges;
  meta["tokenizer.ggml.bos_token_id"] = 0u;
  meta["tokenizer.ggml.eos_token_id"] = name == "llama3" ? 1u : 0u;
  if (name == "gpt2") meta["tokenizer.ggml.add_bos_token"] = false;
  return meta;
}

std::unique_ptr<Tokenizer> from_meta(const json& meta) {
  return make_gguf_bpe_tokenizer(meta, "model.gguf");
}

// Compares every case of <name>_expected.json with `tok`.
int check_expected(const Tokenizer& tok, const std::string& name) {
  int compared = 0;
  for (const json& c : load_json(name + "_expected.json")) {
    const auto text = c.at("text").get<std::string>();
    const auto ids = c.at("ids").get<Ids>();
    EXPECT_EQ(tok.encode(text, false), ids) << name << ": " << text;
    EXPECT_EQ(tok.encode(text, true), c.at("ids_bos").get<Ids>()) << name << ": " << text;
    EXPECT_EQ(tok.decode(ids), c.at("decoded").get<std::string>()) << name << ": " << text;
    ++compared;
  }
  return compared;
}

const char* const kFlavours[] = {"llama3", "qwen2", "gpt2"};
const std::string kMixed =
    "Mixed: caf\xC3\xA9 \xF0\x9F\x99\x82 \xE6\x97\xA5\xE6\x9C\xAC\r\n\ttabs  and   spaces "
    "x<|y 1234567 don'T <|eot_id|><|im_end|><|endoftext|>";

TEST(TokenizerGguf, Llama3MatchesTokenizers) {
  const auto tok = from_meta(gguf_metadata("llama3"));
  EXPECT_GE(check_expected(*tok, "llama3"), 20);
  EXPECT_EQ(tok->bos_id(), 0);
  EXPECT_EQ(tok->eos_id(), 1);
  EXPECT_EQ(tok->vocab_size(), 420);
  EXPECT_EQ(tok->encode("", true), Ids{0});
}

TEST(TokenizerGguf, Qwen2MatchesTokenizers) {
  const auto tok = from_meta(gguf_metadata("qwen2"));
  EXPECT_GE(check_expected(*tok, "qwen2"), 15);
  EXPECT_EQ(tok->bos_id(), -1);  // add_bos_token defaults to false for qwen2
  EXPECT_EQ(tok->eos_id(), 0);
  EXPECT_EQ(tok->encode("", true), Ids{});
  EXPECT_THROW(tok->encode("combining e\xCC\x81", false), Unsupported);  // NFC as Qwen2's json
}

TEST(TokenizerGguf, Gpt2MatchesTokenizersAndPreNames) {
  for (const char* pre : {"llama3", "llama-v3"}) {
    json meta = gguf_metadata("llama3");
    meta["tokenizer.ggml.pre"] = pre;
    EXPECT_GE(check_expected(*from_meta(meta), "llama3"), 20) << pre;
  }
  for (const char* pre : {"gpt-2", "gpt2", "olmo"}) {
    json meta = gguf_metadata("gpt2");
    meta.erase("tokenizer.ggml.add_bos_token");  // false by default
    meta["tokenizer.ggml.pre"] = pre;
    EXPECT_GE(check_expected(*from_meta(meta), "gpt2"), 20) << pre;
  }
}

TEST(TokenizerGguf, BosAndEosFollowTheMetadata) {
  json meta = gguf_metadata("llama3");
  meta["tokenizer.ggml.add_bos_token"] = false;
  auto tok = from_meta(meta);
  EXPECT_EQ(tok->bos_id(), -1);
  EXPECT_EQ(tok->encode("hi", true), tok->encode("hi", false));
  meta["tokenizer.ggml.add_bos_token"] = true;
  meta["tokenizer.ggml.eos_token_id"] = 2;  // <|eot_id|>, as Llama-3 Instruct files have it
  tok = from_meta(meta);
  EXPECT_EQ(tok->eos_id(), 2);
  EXPECT_EQ(tok->encode("", true), Ids{0});
  meta["tokenizer.ggml.bos_token_id"] = 0xFFFFFFFFu;  // u32 "none"
  meta.erase("tokenizer.ggml.eos_token_id");
  tok = from_meta(meta);
  EXPECT_EQ(tok->bos_id(), -1);
  EXPECT_EQ(tok->encode("", true), Ids{});
  EXPECT_EQ(tok->eos_id(), 1);  // found by name: <|end_of_text|>

  meta = gguf_metadata("qwen2");
  meta["tokenizer.ggml.add_bos_token"] = true;
  tok = from_meta(meta);
  EXPECT_EQ(tok->bos_id(), 0);
  EXPECT_EQ(tok->encode("a", true).front(), 0);
}

TEST(TokenizerGguf, ByteLevelRoundTripsArbitraryText) {
  for (const char* name : kFlavours) {
    const auto tok = from_meta(gguf_metadata(name));
    const Ids ids = tok->encode(kMixed, false);
    std::string streamed;
    int32_t prev = -1;
    for (const int32_t id : ids) {
      streamed += tok->decode_token(prev, id);
      prev = id;
    }
    // Control tokens decode to nothing.
    std::string expected = kMixed;
    for (const char* control : {"<|eot_id|>", "<|im_end|>", "<|endoftext|>"}) {
      if (tok->encode(control, false).size() == 1) {
        expected.erase(expected.find(control), std::string(control).size());
      }
    }
    EXPECT_EQ(tok->decode(ids), expected) << name;
    EXPECT_EQ(streamed, expected) << name;
  }
}

// User-defined tokens (type 4) are matched on the raw text and decode to it; control tokens
// (type 3) are matched and decode to nothing; unused tokens (type 5) are left to BPE.
TEST(TokenizerGguf, AddedTokenTypes) {
  json meta = gguf_metadata("llama3");
  auto& tokens = meta["tokenizer.ggml.tokens"];
  auto& types = meta["tokenizer.ggml.token_type"];
  const auto user = static_cast<int32_t>(tokens.size());
  tokens.push_back("<tool_call>");
  types.push_back(4);
  tokens.push_back("<|ctl|>");
  types.push_back(3);
  tokens.push_back("<unused>");
  types.push_back(5);
  const auto tok = from_meta(meta);
  EXPECT_EQ(tok->vocab_size(), user + 3);
  const Ids ids = tok->encode("a<tool_call>b<|ctl|>c<unused>", false);
  ASSERT_GE(ids.size(), 5u);
  EXPECT_EQ(ids[1], user);
  EXPECT_EQ(ids[3], user + 1);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), user + 2), 0);
  EXPECT_EQ(tok->decode(ids), "a<tool_call>bc<unused>");
}

// ignore_merges (llama-bpe only): a pre-token that is itself a token is emitted whole.
TEST(TokenizerGguf, IgnoreMergesForLlamaBpe) {
  json meta = gguf_metadata("llama3");
  const auto id = static_cast<int32_t>(meta["tokenizer.ggml.tokens"].size());
  meta["tokenizer.ggml.tokens"].push_back("zqxj");
  meta["tokenizer.ggml.token_type"].push_back(1);
  EXPECT_EQ(from_meta(meta)->encode("zqxj", false), Ids{id});
  meta["tokenizer.ggml.pre"] = "qwen2";
  EXPECT_NE(from_meta(meta)->encode("zqxj", false), Ids{id});
}

TEST(TokenizerGguf, SaveRoundTripsThroughTokenizerJson) {
  for (const char* name : kFlavours) {
    json meta = gguf_metadata(name);
    meta["tokenizer.ggml.tokens"].push_back("<tool_call>");
    meta["tokenizer.ggml.token_type"].push_back(4);
    const auto tok = from_meta(meta);
    testing::TempDir dir;
    tok->save(dir.path());
    const json saved = json::parse(slurp(dir.path() / "tokenizer.json"));
    EXPECT_EQ(saved.at("model").at("type"), "BPE");
    EXPECT_EQ(saved.at("model").at("merges"), meta["tokenizer.ggml.merges"]) << name;
    const auto back = load_tokenizer_json(dir.path() / "tokenizer.json");
    EXPECT_EQ(back->vocab_size(), tok->vocab_size()) << name;
    EXPECT_EQ(back->bos_id(), tok->bos_id()) << name;
    EXPECT_EQ(back->eos_id(), tok->eos_id()) << name;
    std::vector<std::string> texts = {kMixed, "x <tool_call> y", "<|begin_of_text|>hi"};
    for (const json& c : load_json(std::string(name) + "_expected.json")) {
      texts.push_back(c.at("text").get<std::string>());
    }
    for (const std::string& text : texts) {
      for (const bool bos : {false, true}) {
        const Ids ids = tok->encode(text, bos);
        EXPECT_EQ(back->encode(text, bos), ids) << name << ": " << text;
        EXPECT_EQ(back->decode(ids), tok->decode(ids)) << name << ": " << text;
      }
    }
  }
}

// Loads `meta` and returns the message of the ErrorType it raises ("" when none or another).
template <typename ErrorType>
std::string error_of(const json& meta) {
  try {
    make_gguf_bpe_tokenizer(meta, "bad.gguf");
  } catch (const ErrorType& e) {
    return e.what();
  } catch (const std::exception&) {  // another type: ""
  }
  return "";
}

#define EXPECT_MESSAGE_HAS(message, part) \
  EXPECT_NE((message).find(part), std::string::npos) << "message: '" << (message) << "'"

TEST(TokenizerGguf, BadMetadataIsNamed) {
  const json good = gguf_metadata("llama3");
  json meta = good;
  meta["tokenizer.ggml.merges"][3] = 7;
  std::string m = error_of<FormatError>(meta);
  EXPECT_MESSAGE_HAS(m, "bad.gguf: tokenizer.ggml.merges[3]");

  meta = good;
  meta["tokenizer.ggml.token_type"].erase(0);
  EXPECT_MESSAGE_HAS(error_of<FormatError>(meta), "bad.gguf: tokenizer.ggml.token_type");

  meta = good;
  meta["tokenizer.ggml.model"] = "llama";
  EXPECT_MESSAGE_HAS(error_of<Unsupported>(meta), "tokenizer.ggml.model");

  // [key, value]: null removes the key.
  const json format_errors = json::parse(R"([["tokens", null], ["tokens", []], ["tokens", "abc"],
      ["merges", null], ["merges", ["abc"]], ["merges", ["a b c"]], ["merges", ["\u0120 qqqq"]],
      ["token_type", [1, 2]], ["pre", 5], ["bos_token_id", 420], ["bos_token_id", -2],
      ["bos_token_id", "0"], ["eos_token_id", 1.5], ["add_bos_token", 1]])");
  for (const json& bad : format_errors) {
    const std::string key = "tokenizer.ggml." + bad[0].get<std::string>();
    meta = good;
    meta[key] = bad[1];
    if (bad[1].is_null()) meta.erase(key);
    EXPECT_MESSAGE_HAS(error_of<FormatError>(meta), "bad.gguf: " + key);
  }

  meta = good;
  meta["tokenizer.ggml.tokens"][5] = 5;
  EXPECT_MESSAGE_HAS(error_of<FormatError>(meta), "tokenizer.ggml.tokens[5]");
  meta["tokenizer.ggml.tokens"][5] = "\xFF";
  EXPECT_MESSAGE_HAS(error_of<FormatError>(meta), "tokenizer.ggml.tokens[5]");
  meta["tokenizer.ggml.tokens"][5] = "x";
  meta["tokenizer.ggml.token_type"][5] = "3";
  EXPECT_MESSAGE_HAS(error_of<FormatError>(meta), "tokenizer.ggml.token_type[5]");
  EXPECT_FALSE(error_of<FormatError>(json::array()).empty());
}

// Any key set to any JSON value, or any element replaced, gives a lowbit error or a tokenizer.
TEST(TokenizerGguf, HostileMetadataNeverEscapesAsOtherErrors) {
  const json good = gguf_metadata("qwen2");
  const json values = json::array({nullptr, true, -3, 3, 0xFFFFFFFFFFFFFFFFull, 2.5, "", "a b",
                                   json::array(), json::array({nullptr}), json::array({1, 2}),
                                   json::object(), json::object({{"a", 1}})});
  int errors = 0;
  const auto attempt = [&](const json& meta) {
    try {
      const auto tok = make_gguf_bpe_tokenizer(meta, "bad.gguf");
      tok->encode("hello <|im_end|> world", true);
    } catch (const Error&) {
      ++errors;
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what() << " for " << meta.dump().substr(0, 200);
    }
  };
  for (const auto& [key, unused] : good.items()) {
    for (const json& value : values) {
      json meta = good;
      meta[key] = value;
      attempt(meta);
      if (good[key].is_array()) {
        meta = good;
        meta[key][0] = value;
        attempt(meta);
        meta[key].back() = value;
        attempt(meta);
      }
    }
  }
  EXPECT_GT(errors, 50);
}

// All of WikiText-2 raw agrees with `tokenizers` through the GGUF-built tokenizers too.
TEST(TokenizerGguf, WholeWikitextMatchesTokenizers) {
  LB_REQUIRE_DATA(text_path, "eval/wikitext2_test.raw.txt");
  const std::string text = slurp(text_path);
  const json expected = load_json("wikitext2_expected.json");
  for (const char* name : kFlavours) {
    const Ids ids = from_meta(gguf_metadata(name))->encode(text, false);
    uint64_t h = 0xCBF29CE484222325ull;
    for (const int32_t id : ids) {
      for (int shift = 0; shift < 32; shift += 8) {
        h ^= (static_cast<uint32_t>(id) >> shift) & 0xFF;
        h *= 0x100000001B3ull;
      }
    }
    char hash[17];
    std::snprintf(hash, sizeof(hash), "%016llx", static_cast<unsigned long long>(h));
    EXPECT_EQ(ids.size(), expected.at(name).at("count").get<size_t>()) << name;
    EXPECT_EQ(hash, expected.at(name).at("fnv1a64").get<std::string>()) << name;
  }
}

// Every tokenizer.ggml.pre label in pre_styles_expected.json (the regex lists of llama.cpp's
// pre-tokenizer types, run by `tokenizers` as Split(Isolated)... + ByteLevel over the
// pre_styles.json vocabulary, whose merges cross those splits) gives `tokenizers`' ids, and save()
// writes a tokenizer.json that loads back to the same ids.
TEST(TokenizerGguf, EveryPreLabelMatchesTokenizers) {
  const json rows = load_json("pre_styles_expected.json");
  ASSERT_GE(rows.size(), 15u);
  std::vector<std::string> seen;
  for (const json& row : rows) {
    for (const json& label : row.at("labels")) {
      const auto pre = label.get<std::string>();
      json meta = gguf_metadata("pre_styles");
      meta["tokenizer.ggml.pre"] = pre;
      ::testing::internal::CaptureStderr();
      const auto tok = from_meta(meta);
      EXPECT_EQ(::testing::internal::GetCapturedStderr(), "") << pre << " is a known label";
      for (const json& c : row.at("cases")) {
        const auto text = c.at("text").get<std::string>();
        EXPECT_EQ(tok->encode(text, false), c.at("ids").get<Ids>()) << pre << ": " << text;
      }
      if (&label != &row.at("labels").front()) continue;  // round trip: once per list
      testing::TempDir dir;
      tok->save(dir.path());
      const auto back = load_tokenizer_json(dir.path() / "tokenizer.json");
      for (const json& c : row.at("cases")) {
        const auto text = c.at("text").get<std::string>();
        EXPECT_EQ(back->encode(text, false), c.at("ids").get<Ids>()) << pre << ": " << text;
      }
      seen.push_back(pre);
    }
  }
  for (const char* pre : {"smollm", "llama-bpe", "qwen2", "gpt-4o", "tekken", "deepseek-llm",
                          "deepseek-coder", "falcon", "starcoder", "command-r", "default"}) {
    bool found = false;
    for (const json& row : rows) {
      for (const json& label : row.at("labels")) found = found || label == pre;
    }
    EXPECT_TRUE(found) << pre;
  }
}

// The fixture has teeth: every list but GPT-2's own splits some test string differently.
TEST(TokenizerGguf, PreStylesFixtureDiscriminates) {
  const json rows = load_json("pre_styles_expected.json");
  const json* gpt2 = nullptr;
  for (const json& row : rows) {
    if (row.at("labels").at(0) == "gpt2") gpt2 = &row.at("cases");
  }
  ASSERT_NE(gpt2, nullptr);
  for (const json& row : rows) {
    if (&row.at("cases") == gpt2) continue;
    int differing = 0;
    for (size_t i = 0; i < row.at("cases").size(); ++i) {
      ASSERT_EQ(row["cases"][i].at("text"), gpt2->at(i).at("text"));
      differing += row["cases"][i].at("ids") != gpt2->at(i).at("ids");
    }
    EXPECT_GE(differing, 2) << row.at("labels").at(0);
  }
}

// An unknown label is not refused: a warning names it and the GPT-2 list is used.
TEST(TokenizerGguf, UnknownPreLabelWarnsAndFallsBackToGpt2) {
  json meta = gguf_metadata("gpt2");
  meta["tokenizer.ggml.pre"] = "falcon9";
  ::testing::internal::CaptureStderr();
  const auto tok = from_meta(meta);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_MESSAGE_HAS(err, "warning: model.gguf: tokenizer.ggml.pre 'falcon9'");
  EXPECT_MESSAGE_HAS(err, "GPT-2");
  EXPECT_GE(check_expected(*tok, "gpt2"), 20);
}

// An absent or empty label is llama.cpp's "default" list (with a warning), not GPT-2's.
TEST(TokenizerGguf, MissingPreLabelIsTheDefaultList) {
  const json rows = load_json("pre_styles_expected.json");
  const json* cases = nullptr;
  for (const json& row : rows) {
    if (row.at("labels").at(0) == "default") cases = &row.at("cases");
  }
  ASSERT_NE(cases, nullptr);
  for (const bool absent : {true, false}) {
    json meta = gguf_metadata("pre_styles");
    meta["tokenizer.ggml.pre"] = "";
    if (absent) meta.erase("tokenizer.ggml.pre");
    ::testing::internal::CaptureStderr();
    const auto tok = from_meta(meta);
    EXPECT_MESSAGE_HAS(::testing::internal::GetCapturedStderr(), "tokenizer.ggml.pre is missing");
    for (const json& c : *cases) {
      const auto text = c.at("text").get<std::string>();
      EXPECT_EQ(tok->encode(text, false), c.at("ids").get<Ids>()) << text;
    }
  }
}

// Flags from the table: BOS by default for llama-bpe and tekken, never for glm4.
TEST(TokenizerGguf, PreLabelFlags) {
  for (const char* pre : {"llama-bpe", "tekken", "chameleon"}) {
    json meta = gguf_metadata("gpt2");
    meta.erase("tokenizer.ggml.add_bos_token");
    meta["tokenizer.ggml.pre"] = pre;
    EXPECT_EQ(from_meta(meta)->encode("", true), Ids{0}) << pre;
  }
  for (const char* pre : {"smollm", "gpt-4o", "glm4"}) {
    json meta = gguf_metadata("gpt2");
    meta.erase("tokenizer.ggml.add_bos_token");
    meta["tokenizer.ggml.pre"] = pre;
    EXPECT_EQ(from_meta(meta)->encode("", true), Ids{}) << pre;
  }
  json meta = gguf_metadata("gpt2");
  meta["tokenizer.ggml.pre"] = "glm4";
  meta["tokenizer.ggml.add_bos_token"] = true;
  const auto tok = from_meta(meta);
  EXPECT_EQ(tok->bos_id(), -1);
  EXPECT_EQ(tok->encode("", true), Ids{});
}

uint64_t fnv1a64(const Ids& ids) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (const int32_t id : ids) {
    for (int shift = 0; shift < 32; shift += 8) {
      h ^= (static_cast<uint32_t>(id) >> shift) & 0xFF;
      h *= 0x100000001B3ull;
    }
  }
  return h;
}

std::string hex(uint64_t h) {
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(h));
  return text;
}

// The real SmolLM2-135M GGUF (tokenizer.ggml.pre "smollm"): WikiText-2 raw (bytes as eval reads
// them, CRLF kept) gives the ids `tokenizers` gives with the file's own vocabulary and merges.
TEST(TokenizerGguf, SmolLM2MatchesTokenizersOnWikitext) {
  LB_REQUIRE_DATA(model_path, "smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf");
  LB_REQUIRE_DATA(text_path, "eval/wikitext2_test.raw.txt");
  const io::GgufFile file = io::GgufFile::open(model_path);
  ASSERT_EQ(file.metadata().at("tokenizer.ggml.pre"), "smollm");
  ::testing::internal::CaptureStderr();
  const auto tok = make_gguf_bpe_tokenizer(file.metadata(), file.path());
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  EXPECT_EQ(tok->vocab_size(), 49152);
  EXPECT_EQ(tok->eos_id(), 2);
  const json expected = load_json("smollm2_wikitext_expected.json");
  EXPECT_EQ(tok->encode("The capital of France is", true), expected.at("hello").get<Ids>());

  const std::string text = slurp(text_path);
  const auto head_bytes = expected.at("head_bytes").get<size_t>();
  ASSERT_LT(head_bytes, text.size());
  const std::string head = text.substr(0, head_bytes);
  ASSERT_EQ(std::count(head.begin(), head.end(), '\n'), expected.at("lines").get<long>());
  const Ids head_ids = tok->encode(head, false);
  EXPECT_EQ(head_ids, expected.at("head_ids").get<Ids>());
  EXPECT_EQ(tok->decode(head_ids), head);

  const Ids ids = tok->encode(text, false);
  EXPECT_EQ(ids.size(), expected.at("whole").at("count").get<size_t>());
  EXPECT_EQ(hex(fnv1a64(ids)), expected.at("whole").at("fnv1a64").get<std::string>());
}

// GGUF v3 encoding, little-endian, written byte by byte.
std::string le(uint64_t v, int bytes) {
  std::string out;
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
  return out;
}
std::string gguf_str(const std::string& s) { return le(s.size(), 8) + s; }
std::string kv(const std::string& key, uint32_t type, const std::string& value) {
  return gguf_str(key) + le(type, 4) + value;
}
// A string (8) or i32 (5) array value.
std::string gguf_array(const json& values) {
  const bool strings = values.at(0).is_string();
  std::string body = le(strings ? 8 : 5, 4) + le(values.size(), 8);
  for (const json& v : values) {
    body +=
        strings ? gguf_str(v.get<std::string>()) : le(static_cast<uint32_t>(v.get<int32_t>()), 4);
  }
  return body;
}

TEST(TokenizerGguf, ThroughARealGgufFile) {
  const json meta = gguf_metadata("llama3");
  const std::string t = "tokenizer.ggml.";
  std::string bytes = "GGUF" + le(3, 4) + le(0, 8) + le(9, 8);  // v3, no tensors, 9 KV pairs
  bytes += kv("general.architecture", 8, gguf_str("llama")) + kv(t + "model", 8, gguf_str("gpt2")) +
           kv(t + "pre", 8, gguf_str("llama-bpe"));
  for (const char* key : {"tokens", "token_type", "merges"}) {
    bytes += kv(t + key, 9, gguf_array(meta[t + key]));
  }
  bytes += kv(t + "bos_token_id", 4, le(0, 4)) + kv(t + "eos_token_id", 4, le(2, 4)) +
           kv(t + "add_bos_token", 7, le(1, 1));
  bytes.append((32 - bytes.size() % 32) % 32, '\0');
  testing::TempDir dir;
  const fs::path path = dir.path() / "tok.gguf";
  std::ofstream(path, std::ios::binary) << bytes;
  const io::GgufFile file = io::GgufFile::open(path);
  EXPECT_TRUE(file.tensors().empty());
  EXPECT_FALSE(file.spm_vocab().has_value());
  const auto tok = make_gguf_bpe_tokenizer(file.metadata(), file.path());
  EXPECT_GE(check_expected(*tok, "llama3"), 20);
  EXPECT_EQ(tok->eos_id(), 2);
  EXPECT_EQ(tok->vocab_size(), 420);
}

}  // namespace
}  // namespace lowbit
