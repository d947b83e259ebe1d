// SPDX-License-Identifier: MIT
// Tests of the synthetic Llama-2-style tokenizer.json: size, determinism, agreement with the
// `tokenizers` package (fixture from tools/make_tokenizer_fixtures.py) and with SentencePiece.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "io/synthetic_tokenizer.h"
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

std::unique_ptr<Tokenizer> load_synthetic(int32_t vocab_size, uint64_t seed,
                                          const testing::TempDir& dir) {
  const auto path = dir.path() / ("synthetic_" + std::to_string(vocab_size) + ".json");
  std::ofstream(path, std::ios::binary) << make_synthetic_tokenizer_json(vocab_size, seed);
  return load_tokenizer_json(path);
}

TEST(SyntheticTokenizer, MatchesTokenizersIds) {
  const json expected = json::parse(slurp(std::filesystem::path(LOWBIT_SOURCE_DIR) / "tests" /
                                          "fixtures" / "tokenizer" / "synthetic_expected.json"));
  ASSERT_EQ(expected.size(), 3u);
  testing::TempDir dir;
  for (const json& entry : expected) {
    const auto vocab_size = entry.at("vocab_size").get<int32_t>();
    const auto tok = load_synthetic(vocab_size, entry.at("seed").get<uint64_t>(), dir);
    EXPECT_EQ(tok->vocab_size(), vocab_size);
    for (const json& c : entry.at("cases")) {
      const auto text = c.at("text").get<std::string>();
      EXPECT_EQ(tok->encode(text, false), c.at("ids").get<Ids>()) << vocab_size << ": " << text;
      EXPECT_EQ(tok->encode(text, true), c.at("ids_bos").get<Ids>()) << vocab_size << ": " << text;
      EXPECT_EQ(tok->decode(c.at("ids").get<Ids>()), c.at("decoded").get<std::string>());
    }
  }
}

TEST(SyntheticTokenizer, LayoutAndDeterminism) {
  const std::string a = make_synthetic_tokenizer_json(512, 1);
  EXPECT_EQ(a, make_synthetic_tokenizer_json(512, 1));
  const json root = json::parse(a);
  const json& vocab = root.at("model").at("vocab");
  EXPECT_EQ(vocab.size(), 512u);
  EXPECT_EQ(vocab.at("<unk>"), 0);
  EXPECT_EQ(vocab.at("<s>"), 1);
  EXPECT_EQ(vocab.at("</s>"), 2);
  EXPECT_EQ(vocab.at("<0x00>"), 3);
  EXPECT_EQ(vocab.at("<0xFF>"), 258);
  EXPECT_EQ(vocab.at("\xE2\x96\x81"), 259);
  EXPECT_TRUE(root.at("model").at("byte_fallback").get<bool>());
  // Every merge joins two vocabulary pieces into a third.
  for (const json& m : root.at("model").at("merges")) {
    ASSERT_TRUE(vocab.contains(m[0].get<std::string>()));
    ASSERT_TRUE(vocab.contains(m[1].get<std::string>()));
    ASSERT_TRUE(vocab.contains(m[0].get<std::string>() + m[1].get<std::string>()));
  }
  // Past the embedded text's pairs the seed decides the pieces.
  EXPECT_NE(make_synthetic_tokenizer_json(4000, 1), make_synthetic_tokenizer_json(4000, 2));
  EXPECT_THROW(make_synthetic_tokenizer_json(258, 1), InvalidArgument);
  EXPECT_EQ(json::parse(make_synthetic_tokenizer_json(259, 1))["model"]["vocab"].size(), 259u);
}

// Large vocabularies fill up: the random joins only give up when they stop finding new pieces,
// not after a fixed number of collisions over the whole run (SmolLM2's 49,152 once failed).
TEST(SyntheticTokenizer, FillsALargeVocabulary) {
  const json root = json::parse(make_synthetic_tokenizer_json(49152, 1234));
  EXPECT_EQ(root.at("model").at("vocab").size(), 49152u);
}

TEST(SyntheticTokenizer, RoundTripsAndCompresses) {
  testing::TempDir dir;
  const auto small = load_synthetic(512, 5, dir);
  const auto large = load_synthetic(32000, 5, dir);
  const std::string text =
      "The baker opens her shop before the sun comes up, and the river runs under the old "
      "bridge.\nUnseen: caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x99\x82 {braces} ~tilde~";
  for (const auto* tok : {small.get(), large.get()}) {
    const Ids ids = tok->encode(text, true);
    EXPECT_EQ(ids.front(), 1);
    EXPECT_EQ(tok->decode(ids), text);
  }
  EXPECT_LT(small->encode(text, false).size(), text.size() * 2 / 3);
  EXPECT_LE(large->encode(text, false).size(), small->encode(text, false).size());
}

// With score = -(rank of the piece) the same vocabulary tokenizes alike as SentencePiece.
TEST(SyntheticTokenizer, AgreesWithSentencePieceScores) {
  const json root = json::parse(make_synthetic_tokenizer_json(2000, 11));
  SpmVocab v;
  const json& vocab = root.at("model").at("vocab");
  v.pieces.resize(vocab.size());
  for (const auto& [piece, id] : vocab.items()) v.pieces[id.get<size_t>()] = piece;
  for (size_t i = 0; i < v.pieces.size(); ++i) v.scores.push_back(-static_cast<float>(i));
  testing::TempDir dir;
  const auto json_tok = load_synthetic(2000, 11, dir);
  const auto spm_tok = make_spm_tokenizer(v);
  const std::string text =
      "Every morning the farmer walked the fields to check the fences, and the dog followed. "
      "Xylophones quietly buzz; 123 + 456 = 579.";
  EXPECT_EQ(spm_tok->encode(text, true), json_tok->encode(text, true));
}

}  // namespace
}  // namespace lowbit
