// SPDX-License-Identifier: MIT
// Tests of the SentencePiece-style tokenizer: hand-made vocabularies, llama2.c tok512.bin files
// and ids from the Hugging Face `tokenizers` package (tools/make_tokenizer_fixtures.py).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "io/tokenizer.h"
#include "testing/test_data.h"
#include "util/error.h"
#include "util/timer.h"

namespace lowbit {
namespace {

using Ids = std::vector<int32_t>;
const std::string kMark = "\xE2\x96\x81";  // U+2581

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::filesystem::path fixture(const std::string& name) {
  return std::filesystem::path(LOWBIT_SOURCE_DIR) / "tests" / "fixtures" / "tokenizer" / name;
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

// A small vocabulary whose ids are deliberately not laid out like Llama's: byte tokens sit
// after the normal pieces, and only three bytes have one.
SpmVocab hand_vocab() {
  SpmVocab v;
  const auto add = [&](const std::string& piece, float score, int32_t type) {
    v.pieces.push_back(piece);
    v.scores.push_back(score);
    v.types.push_back(type);
  };
  add("<unk>", 0, 2);       // 0
  add("<s>", 0, 3);         // 1
  add("</s>", 0, 3);        // 2
  add(kMark, -10, 1);       // 3
  add("a", -10, 1);         // 4
  add("b", -10, 1);         // 5
  add("c", -10, 1);         // 6
  add("aa", -1, 1);         // 7
  add("ab", -5, 1);         // 8
  add("bc", -2, 1);         // 9
  add(kMark + "a", -3, 1);  // 10
  add("<0xE4>", 0, 6);      // 11
  add("<0xB8>", 0, 6);      // 12
  add("<0xAD>", 0, 6);      // 13
  add("cc", 0, 3);          // 14: control, must never come out of a merge
  add("x", -10, 1);         // 15
  add("y", -10, 1);         // 16
  add("xy", -4, 5);         // 17: unused, must never come out of a merge
  return v;
}

TEST(SpmTokenizer, MergesHighestScoreFirstLeftmostOnTies) {
  SpmVocab v = hand_vocab();
  v.add_dummy_prefix = false;
  const auto tok = make_spm_tokenizer(v);
  // "aa" (7) can form at 0-1 or 1-2 with the same score: the leftmost wins.
  EXPECT_EQ(tok->encode("aaa", false), (Ids{7, 4}));
  EXPECT_EQ(tok->encode("aaaa", false), (Ids{7, 7}));
  // "bc" (-2) beats "ab" (-5), leaving a + bc.
  EXPECT_EQ(tok->encode("abc", false), (Ids{4, 9}));
  EXPECT_EQ(tok->encode("ab", false), (Ids{8}));
  // Control and unused pieces are never produced by merging text.
  EXPECT_EQ(tok->encode("cc", false), (Ids{6, 6}));
  EXPECT_EQ(tok->encode("xy", false), (Ids{15, 16}));
}

TEST(SpmTokenizer, DummyPrefixOnceAndSpacesAsMarks) {
  const auto tok = make_spm_tokenizer(hand_vocab());
  EXPECT_EQ(tok->encode("a", false), (Ids{10}));
  EXPECT_EQ(tok->encode("a", true), (Ids{1, 10}));
  EXPECT_EQ(tok->encode("a a", false), (Ids{10, 10}));
  EXPECT_EQ(tok->encode(" a", false), (Ids{3, 10}));
  EXPECT_EQ(tok->encode("", false), Ids{});
  EXPECT_EQ(tok->encode("", true), (Ids{1}));
}

TEST(SpmTokenizer, ByteFallbackFindsBytePiecesByText) {
  SpmVocab v = hand_vocab();
  v.add_dummy_prefix = false;
  const auto tok = make_spm_tokenizer(v);
  // U+4E2D is E4 B8 AD; its byte tokens are 11..13 here, not byte + 3.
  EXPECT_EQ(tok->encode("\xE4\xB8\xAD", false), (Ids{11, 12, 13}));
  // U+00E9 (C3 A9) has no byte tokens: each missing code point becomes <unk>.
  EXPECT_EQ(tok->encode("a\xC3\xA9"
                        "b",
                        false),
            (Ids{4, 0, 5}));
  EXPECT_EQ(tok->decode(Ids{11, 12, 13}), "\xE4\xB8\xAD");
  // Files that type byte pieces as normal still get byte fallback.
  v.types[11] = v.types[12] = v.types[13] = 1;
  const auto untyped = make_spm_tokenizer(v);
  EXPECT_EQ(untyped->encode("\xE4\xB8\xAD", false), (Ids{11, 12, 13}));
  EXPECT_EQ(untyped->decode(Ids{4, 11, 12, 13}), "a\xE4\xB8\xAD");
}

TEST(SpmTokenizer, DecodeDropsControlAndOneLeadingSpace) {
  const auto tok = make_spm_tokenizer(hand_vocab());
  EXPECT_EQ(tok->decode(Ids{1, 10, 10, 2}), "a a");
  EXPECT_EQ(tok->decode(Ids{10, 10}), "a a");
  EXPECT_EQ(tok->decode(Ids{3, 10}), " a");  // only one space goes
  EXPECT_EQ(tok->decode(Ids{4, 10}), "a a");
  EXPECT_EQ(tok->decode_token(1, 10), "a");
  EXPECT_EQ(tok->decode_token(4, 10), " a");
  EXPECT_EQ(tok->decode_token(4, 2), "");
  EXPECT_THROW(tok->decode(Ids{99}), InvalidArgument);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  EXPECT_EQ(tok->vocab_size(), 18);
}

TEST(SpmTokenizer, UserDefinedPiecesSplitTheText) {
  SpmVocab v = hand_vocab();
  v.pieces.push_back("<tool>");
  v.scores.push_back(0);
  v.types.push_back(4);
  const auto tok = make_spm_tokenizer(v);
  // As llama.cpp: the dummy prefix is added again after a user-defined token.
  EXPECT_EQ(tok->encode("a<tool>a", false), (Ids{10, 18, 10}));
}

TEST(SpmTokenizer, Stories260kHandDerivedIds) {
  LB_REQUIRE_DATA(path, "stories260K/tok512.bin");
  const auto tok = load_llama2c_tokenizer(path, 512);
  EXPECT_EQ(tok->vocab_size(), 512);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  // "▁a" is piece 261.
  EXPECT_EQ(tok->encode("a", true), (Ids{1, 261}));
  // ▁ t h e: "▁t" (259, score 0) beats "he" (260, -1); then "he" beats "▁th" (308, -49);
  // then "▁t" + "he" = "▁the" (265).
  EXPECT_EQ(tok->encode("the", false), (Ids{265}));
  // U+4E2D is no piece: "▁" (410) then byte tokens E4 B8 AD (ids byte + 3 in this file).
  EXPECT_EQ(tok->encode("\xE4\xB8\xAD", false), (Ids{410, 0xE4 + 3, 0xB8 + 3, 0xAD + 3}));
  // é is a piece (485) and "▁é" is not.
  EXPECT_EQ(tok->encode("\xC3\xA9", false), (Ids{410, 485}));
  EXPECT_EQ(tok->decode(Ids{1, 265}), "the");
  EXPECT_EQ(tok->decode(Ids{265, 265}), "the the");
  EXPECT_EQ(tok->decode_token(265, 265), " the");
}

TEST(SpmTokenizer, Stories260kMatchesHfTokenizers) {
  LB_REQUIRE_DATA(path, "stories260K/tok512.bin");
  const auto tok = load_llama2c_tokenizer(path, 512);
  const auto expected = nlohmann::json::parse(slurp(fixture("stories260k_tok512_expected.json")));
  ASSERT_FALSE(expected.at("cases").empty());
  for (const auto& c : expected.at("cases")) {
    const auto text = c.at("text").get<std::string>();
    EXPECT_EQ(tok->encode(text, false), c.at("ids").get<Ids>()) << text;
    EXPECT_EQ(tok->encode(text, true), c.at("ids_bos").get<Ids>()) << text;
    EXPECT_EQ(tok->decode(c.at("ids").get<Ids>()), c.at("decoded").get<std::string>()) << text;
  }
}

TEST(SpmTokenizer, Stories260kWholeTinyStoriesFile) {
  LB_REQUIRE_DATA(path, "stories260K/tok512.bin");
  LB_REQUIRE_DATA(text_path, "eval/tinystories_valid_part1.txt");
  const auto tok = load_llama2c_tokenizer(path, 512);
  const std::string text = slurp(text_path);
  Timer timer;
  const Ids ids = tok->encode(text, true);
  const double seconds = timer.seconds();
  std::cout << "[ timing ] encoded " << text.size() << " bytes into " << ids.size() << " tokens in "
            << seconds << " s\n";
  const auto expected = nlohmann::json::parse(slurp(fixture("stories260k_tok512_expected.json")))
                            .at("tinystories_valid_part1");
  EXPECT_EQ(ids.size(), expected.at("count_with_bos").get<size_t>());
  EXPECT_EQ(ids.size(), 193801u);  // llama.cpp's count
  char hash[17];
  std::snprintf(hash, sizeof(hash), "%016llx", static_cast<unsigned long long>(fnv1a64(ids)));
  EXPECT_EQ(hash, expected.at("fnv1a64").get<std::string>());
  EXPECT_EQ(tok->decode(ids), text);
}

TEST(SpmTokenizer, AidreamsRoundTripsTextAndBytes) {
  LB_REQUIRE_DATA(path, "aidreams260K/tok512.bin");
  LB_REQUIRE_DATA(text_path, "eval/tinystories_valid_part1.txt");
  const auto tok = load_llama2c_tokenizer(path, 512);
  const std::string text = slurp(text_path);
  const Ids ids = tok->encode(text, true);
  EXPECT_EQ(ids.front(), 1);
  EXPECT_LT(ids.size(), text.size());
  EXPECT_EQ(tok->decode(ids), text);
  // ▁ i n: "in" (259, score 0; "▁i" is no piece), then "▁" + "in" = "▁in" (301).
  EXPECT_EQ(tok->encode("in", false), (Ids{301}));
  const std::string odd = "\xE2\x9C\x93 caf\xC3\xA9 \xF0\x9F\x99\x82 \xE6\x97\xA5\xE6\x9C\xAC\n\t";
  EXPECT_EQ(tok->decode(tok->encode(odd, true)), odd);
}

TEST(SpmTokenizer, SaveWritesLlama2cFileBackUnchanged) {
  for (const char* name : {"stories260K/tok512.bin", "aidreams260K/tok512.bin"}) {
    LB_REQUIRE_DATA(path, name);
    const auto tok = load_llama2c_tokenizer(path, 512);
    testing::TempDir dir;
    tok->save(dir.path());
    const auto saved = dir.path() / "tokenizer.bin";
    EXPECT_EQ(slurp(saved), slurp(path)) << name;
    const auto again = load_llama2c_tokenizer(saved, 512);
    const std::string text = "Once upon a time, \xC3\xA9 \xE4\xB8\xAD.";
    EXPECT_EQ(again->encode(text, true), tok->encode(text, true));
  }
}

TEST(SpmTokenizer, SaveOfAnSpmVocabReloadsToTheSameBehaviour) {
  SpmVocab v = hand_vocab();
  v.types.clear();  // let the tokenizer infer types as for llama2.c files
  v.pieces[14] = "dd";
  v.pieces[17] = "yx";
  const auto tok = make_spm_tokenizer(v);
  testing::TempDir dir;
  tok->save(dir.path());
  const auto again = load_llama2c_tokenizer(dir.path() / "tokenizer.bin", 18);
  for (const std::string text : {"aaa b", "abc ab", "\xE4\xB8\xAD a", ""}) {
    EXPECT_EQ(again->encode(text, true), tok->encode(text, true)) << text;
    EXPECT_EQ(again->decode(tok->encode(text, true)), text);
  }
  EXPECT_EQ(again->bos_id(), 1);
  EXPECT_EQ(again->eos_id(), 2);
}

TEST(SpmTokenizer, TruncatedLlama2cFileIsAFormatErrorNamingIt) {
  LB_REQUIRE_DATA(path, "stories260K/tok512.bin");
  const std::string bytes = slurp(path);
  testing::TempDir dir;
  const auto cut = dir.path() / "cut_tokenizer.bin";
  for (const size_t keep : {size_t{2}, size_t{100}, bytes.size() - 3}) {
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, keep);
    try {
      load_llama2c_tokenizer(cut, 512);
      ADD_FAILURE() << "no error for " << keep << " bytes";
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find("cut_tokenizer.bin"), std::string::npos) << e.what();
    }
  }
  // Asking for more tokens than the file holds is the same error.
  EXPECT_THROW(load_llama2c_tokenizer(path, 513), FormatError);
  EXPECT_THROW(load_llama2c_tokenizer(dir.path() / "missing.bin", 512), FormatError);
}

// The Llama-2 style tokenizer.json fixture as an SpmVocab (score = -rank of the merge that
// first makes a piece) must give the ids `tokenizers` gave.
TEST(SpmTokenizer, MatchesHfTokenizersOnLlama2JsonVocabulary) {
  const auto model = nlohmann::json::parse(slurp(fixture("llama2_classic.json"))).at("model");
  const auto& vocab_json = model.at("vocab");
  SpmVocab v;
  v.pieces.resize(vocab_json.size());
  v.scores.assign(vocab_json.size(), 0.0f);
  v.types.assign(vocab_json.size(), 1);
  for (const auto& [piece, id] : vocab_json.items()) v.pieces[id.get<size_t>()] = piece;
  v.types[0] = 2;
  v.types[1] = v.types[2] = 3;
  for (size_t i = 3; i < 259; ++i) v.types[i] = 6;
  std::vector<bool> scored(v.pieces.size(), false);
  const auto& merges = model.at("merges");
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto line = merges[rank].get<std::string>();
    const std::string merged = line.substr(0, line.find(' ')) + line.substr(line.find(' ') + 1);
    const auto id = vocab_json.at(merged).get<size_t>();
    if (!scored[id]) v.scores[id] = -static_cast<float>(rank);
    scored[id] = true;
  }
  const auto tok = make_spm_tokenizer(v);
  const auto cases = nlohmann::json::parse(slurp(fixture("llama2_classic_expected.json")));
  int compared = 0;
  for (const auto& c : cases) {
    const auto text = c.at("text").get<std::string>();
    if (text.find('<') != std::string::npos) continue;  // added tokens are a tokenizer.json thing
    EXPECT_EQ(tok->encode(text, false), c.at("ids").get<Ids>()) << text;
    EXPECT_EQ(tok->encode(text, true), c.at("ids_bos").get<Ids>()) << text;
    EXPECT_EQ(tok->decode(c.at("ids").get<Ids>()), c.at("decoded").get<std::string>()) << text;
    ++compared;
  }
  EXPECT_GE(compared, 15);
}

}  // namespace
}  // namespace lowbit
