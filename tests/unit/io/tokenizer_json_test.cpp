// SPDX-License-Identifier: MIT
// Tests of Hugging Face tokenizer.json loading against ids from the `tokenizers` package
// (fixtures made by tools/make_tokenizer_fixtures.py), plus error handling and save().
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "io/tokenizer.h"
#include "testing/test_data.h"
#include "util/error.h"

namespace lowbit {
namespace {

using Ids = std::vector<int32_t>;
using nlohmann::json;

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::filesystem::path fixture(const std::string& name) {
  return std::filesystem::path(LOWBIT_SOURCE_DIR) / "tests" / "fixtures" / "tokenizer" / name;
}

// Compares every case of <name>_expected.json with what lowbit makes of <name>.json.
int check_against_tokenizers(const std::string& name) {
  const auto tok = load_tokenizer_json(fixture(name + ".json"));
  const json cases = json::parse(slurp(fixture(name + "_expected.json")));
  int compared = 0;
  for (const json& c : cases) {
    const auto text = c.at("text").get<std::string>();
    const auto ids = c.at("ids").get<Ids>();
    EXPECT_EQ(tok->encode(text, false), ids) << name << ": " << text;
    EXPECT_EQ(tok->encode(text, true), c.at("ids_bos").get<Ids>()) << name << ": " << text;
    EXPECT_EQ(tok->decode(ids), c.at("decoded").get<std::string>()) << name << ": " << text;
    ++compared;
  }
  return compared;
}

json load_json(const std::string& name) { return json::parse(slurp(fixture(name))); }

void write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// Loads a modified fixture and returns the message of the error it raises ("" when none).
template <typename ErrorType>
std::string error_of(const json& root, const testing::TempDir& dir) {
  const auto path = dir.path() / "tokenizer.json";
  write(path, root.dump());
  try {
    load_tokenizer_json(path);
  } catch (const ErrorType& e) {
    return e.what();
  }
  return "";
}

TEST(TokenizerJson, Llama2ClassicMatchesTokenizers) {
  EXPECT_GE(check_against_tokenizers("llama2_classic"), 20);
}

TEST(TokenizerJson, Llama2MetaspaceMatchesTokenizers) {
  EXPECT_GE(check_against_tokenizers("llama2_metaspace"), 20);
}

TEST(TokenizerJson, Gpt2MatchesTokenizers) { EXPECT_GE(check_against_tokenizers("gpt2"), 20); }

TEST(TokenizerJson, Llama3MatchesTokenizers) { EXPECT_GE(check_against_tokenizers("llama3"), 20); }

TEST(TokenizerJson, Qwen2MatchesTokenizers) { EXPECT_GE(check_against_tokenizers("qwen2"), 15); }

TEST(TokenizerJson, SpecialIds) {
  const auto llama2 = load_tokenizer_json(fixture("llama2_classic.json"));
  EXPECT_EQ(llama2->bos_id(), 1);
  EXPECT_EQ(llama2->eos_id(), 2);
  EXPECT_EQ(llama2->vocab_size(),
            static_cast<int32_t>(load_json("llama2_classic.json")["model"]["vocab"].size()));
  const auto llama3 = load_tokenizer_json(fixture("llama3.json"));
  EXPECT_EQ(llama3->bos_id(), 0);  // <|begin_of_text|>
  EXPECT_EQ(llama3->eos_id(), 1);  // <|end_of_text|>
  EXPECT_EQ(llama3->encode("", true), (Ids{0}));
  const auto qwen2 = load_tokenizer_json(fixture("qwen2.json"));
  EXPECT_EQ(qwen2->bos_id(), -1);
  EXPECT_EQ(qwen2->eos_id(), 0);  // <|endoftext|>
  EXPECT_EQ(qwen2->encode("", true), Ids{});
  EXPECT_EQ(qwen2->vocab_size(),
            static_cast<int32_t>(load_json("qwen2.json")["model"]["vocab"].size()));
}

TEST(TokenizerJson, ByteLevelRoundTripsArbitraryText) {
  for (const char* name : {"gpt2.json", "llama3.json"}) {
    const auto tok = load_tokenizer_json(fixture(name));
    const std::string text =
        "Mixed: caf\xC3\xA9 \xF0\x9F\x99\x82 \xE6\x97\xA5\xE6\x9C\xAC\r\n\ttabs  and   spaces "
        "x<|y 1234567 don'T";
    EXPECT_EQ(tok->decode(tok->encode(text, false)), text) << name;
    std::string streamed;
    int32_t prev = -1;
    for (const int32_t id : tok->encode(text, false)) {
      streamed += tok->decode_token(prev, id);
      prev = id;
    }
    EXPECT_EQ(streamed, text) << name;
  }
}

TEST(TokenizerJson, NfcRefusesTextItCannotVouchFor) {
  const auto tok = load_tokenizer_json(fixture("qwen2.json"));
  try {
    tok->encode("combining e\xCC\x81", false);
    ADD_FAILURE() << "no error";
  } catch (const Unsupported& e) {
    EXPECT_NE(std::string(e.what()).find("NFC"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("qwen2.json"), std::string::npos) << e.what();
  }
  // Precomposed letters, CJK, punctuation beyond U+0300 and emoji are plainly NFC.
  EXPECT_NO_THROW(
      tok->encode("caf\xC3\xA9 \xE4\xB8\xAD \xE2\x82\xAC \xE2\x80\x9Cq\xE2\x80\x9D "
                  "\xF0\x9F\x99\x82 \xE3\x83\x86",
                  false));
  // A singleton that NFC replaces (U+212B ANGSTROM SIGN -> U+00C5) is refused too.
  EXPECT_THROW(tok->encode("\xE2\x84\xAB", false), Unsupported);
}

uint64_t fnv1a64(const Ids& ids) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (const int32_t id : ids) {
    const auto u = static_cast<uint32_t>(id);
    for (int shift = 0; shift < 32; shift += 8) {
      h ^= (u >> shift) & 0xFF;
      h *= 0x100000001B3ull;
    }
  }
  return h;
}

// All of WikiText-2 raw (1.3 MB, CRLF, accents, combining marks, CJK) agrees with `tokenizers`.
TEST(TokenizerJson, WholeWikitextMatchesTokenizers) {
  LB_REQUIRE_DATA(text_path, "eval/wikitext2_test.raw.txt");
  const std::string text = slurp(text_path);
  const json expected = load_json("wikitext2_expected.json");
  ASSERT_EQ(expected.size(), 5u);
  for (const auto& [name, want] : expected.items()) {
    const Ids ids = load_tokenizer_json(fixture(name + ".json"))->encode(text, false);
    EXPECT_EQ(ids.size(), want.at("count").get<size_t>()) << name;
    char hash[17];
    std::snprintf(hash, sizeof(hash), "%016llx", static_cast<unsigned long long>(fnv1a64(ids)));
    EXPECT_EQ(hash, want.at("fnv1a64").get<std::string>()) << name;
  }
}

TEST(TokenizerJson, SaveWritesTheOriginalJson) {
  for (const char* name : {"llama2_classic.json", "qwen2.json"}) {
    const auto tok = load_tokenizer_json(fixture(name));
    testing::TempDir dir;
    tok->save(dir.path());
    EXPECT_EQ(slurp(dir.path() / "tokenizer.json"), slurp(fixture(name))) << name;
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "tokenizer.bin"));
  }
}

TEST(TokenizerJson, UnsupportedComponentsAreNamed) {
  testing::TempDir dir;
  json root = load_json("gpt2.json");
  root["model"]["type"] = "WordPiece";
  std::string message = error_of<Unsupported>(root, dir);
  EXPECT_NE(message.find("tokenizer.json"), std::string::npos) << message;
  EXPECT_NE(message.find("WordPiece"), std::string::npos) << message;

  root = load_json("gpt2.json");
  root["pre_tokenizer"] = {{"type", "Digits"}, {"individual_digits", true}};
  message = error_of<Unsupported>(root, dir);
  EXPECT_NE(message.find("pre_tokenizer Digits"), std::string::npos) << message;

  root = load_json("llama2_classic.json");
  root["normalizer"] = {{"type", "Lowercase"}};
  message = error_of<Unsupported>(root, dir);
  EXPECT_NE(message.find("normalizer Lowercase"), std::string::npos) << message;

  root = load_json("llama2_classic.json");
  root["decoder"] = {{"type", "WordPiece"}, {"prefix", "##"}};
  EXPECT_NE(error_of<Unsupported>(root, dir).find("decoder WordPiece"), std::string::npos);

  root = load_json("gpt2.json");
  root["post_processor"] = {{"type", "BertProcessing"}};
  EXPECT_NE(error_of<Unsupported>(root, dir).find("post_processor"), std::string::npos);
}

TEST(TokenizerJson, MalformedFilesAreFormatErrors) {
  testing::TempDir dir;
  const auto path = dir.path() / "tokenizer.json";
  write(path, "{\"model\": ");
  EXPECT_THROW(load_tokenizer_json(path), FormatError);
  json root = load_json("gpt2.json");
  root["model"]["merges"].push_back("qq zz");
  const std::string message = error_of<FormatError>(root, dir);
  EXPECT_NE(message.find("tokenizer.json"), std::string::npos) << message;
  root = load_json("gpt2.json");
  root["model"].erase("vocab");
  EXPECT_FALSE(error_of<FormatError>(root, dir).empty());
  EXPECT_THROW(load_tokenizer_json(dir.path() / "missing.json"), FormatError);
}

// Merges given as ["a", "b"] pairs and as "a b" strings mean the same.
TEST(TokenizerJson, MergeFormsAreEquivalent) {
  json root = load_json("gpt2.json");
  json pairs = json::array();
  for (const json& m : root["model"]["merges"]) {
    if (m.is_array()) {
      pairs.push_back(m);
    } else {
      const auto line = m.get<std::string>();
      pairs.push_back({line.substr(0, line.find(' ')), line.substr(line.find(' ') + 1)});
    }
  }
  json strings = json::array();
  for (const json& m : pairs) {
    strings.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
  }
  testing::TempDir dir;
  root["model"]["merges"] = pairs;
  write(dir.path() / "a.json", root.dump());
  root["model"]["merges"] = strings;
  write(dir.path() / "b.json", root.dump());
  const auto a = load_tokenizer_json(dir.path() / "a.json");
  const auto b = load_tokenizer_json(dir.path() / "b.json");
  const std::string text = "The lighthouse keeper wrote the weather in a thick book.";
  EXPECT_EQ(a->encode(text, false), b->encode(text, false));
  EXPECT_LT(a->encode(text, false).size(), text.size() / 2);  // merges were applied
}

// ignore_merges: a pre-token that is itself in the vocabulary is emitted whole, even when the
// merges alone would not build it.
TEST(TokenizerJson, IgnoreMergesEmitsWholeVocabularyWords) {
  json root = load_json("llama3.json");
  const auto id = static_cast<int32_t>(root["model"]["vocab"].size());  // a new id
  root["model"]["vocab"]["zqxj"] = id;
  testing::TempDir dir;
  write(dir.path() / "tokenizer.json", root.dump());
  EXPECT_EQ(load_tokenizer_json(dir.path() / "tokenizer.json")->encode("zqxj", false), (Ids{id}));
  root["model"]["ignore_merges"] = false;
  write(dir.path() / "tokenizer.json", root.dump());
  EXPECT_NE(load_tokenizer_json(dir.path() / "tokenizer.json")->encode("zqxj", false), (Ids{id}));
}

// The stories260K vocabulary as tokenizer.json agrees with the llama2.c loader on a whole file.
TEST(TokenizerJson, Stories260kJsonAgreesWithLlama2cLoader) {
  LB_REQUIRE_DATA(bin, "stories260K/tok512.bin");
  LB_REQUIRE_DATA(text_path, "eval/tinystories_valid_part1.txt");
  const auto from_json = load_tokenizer_json(fixture("stories260k_tok512.json"));
  const auto from_bin = load_llama2c_tokenizer(bin, 512);
  const std::string text = slurp(text_path);
  const Ids ids = from_json->encode(text, true);
  EXPECT_EQ(ids.size(), 193801u);
  EXPECT_EQ(ids, from_bin->encode(text, true));
  EXPECT_EQ(from_json->decode(ids), text);
}

}  // namespace
}  // namespace lowbit
