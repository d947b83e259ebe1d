// SPDX-License-Identifier: MIT
// SentencePiece-style BPE over an SpmVocab: dummy prefix, code points with byte fallback, then
// merges of the adjacent pair whose concatenation is the best-scored piece (as llama2.c run.c).
#include "io/tokenizer_spm.h"

#include <utility>

#include "io/tokenizer_added.h"
#include "io/tokenizer_bpe.h"
#include "io/tokenizer_decode.h"
#include "io/tokenizer_text.h"
#include "util/check.h"
#include "util/error.h"

namespace lowbit {

namespace {

using namespace tokenizer_detail;

bool from_text(int32_t type) { return type == kTypeNormal || type == kTypeUserDefined; }

// Fills in missing types and checks that the parallel arrays agree.
void normalize_vocab(SpmVocab& vocab) {
  const size_t n = vocab.pieces.size();
  LB_CHECK_ARG(n > 0, "SentencePiece vocabulary is empty");
  LB_CHECK_ARG(vocab.scores.size() == n, "SentencePiece vocabulary has ", n, " pieces but ",
               vocab.scores.size(), " scores");
  LB_CHECK_ARG(vocab.types.empty() || vocab.types.size() == n, "SentencePiece vocabulary has ", n,
               " pieces but ", vocab.types.size(), " token types");
  const auto in_range = [&](int32_t id) { return id >= 0 && static_cast<size_t>(id) < n; };
  if (!in_range(vocab.bos_id)) vocab.bos_id = -1;
  if (!in_range(vocab.eos_id)) vocab.eos_id = -1;
  if (!in_range(vocab.unk_id)) vocab.unk_id = -1;
  if (vocab.types.empty()) {
    vocab.types.assign(n, kTypeNormal);
    for (size_t i = 0; i < n; ++i) {
      const auto id = static_cast<int32_t>(i);
      if (id == vocab.unk_id) {
        vocab.types[i] = kTypeUnknown;
      } else if (id == vocab.bos_id || id == vocab.eos_id) {
        vocab.types[i] = kTypeControl;
      } else if (parse_byte_piece(vocab.pieces[i]) >= 0) {
        vocab.types[i] = kTypeByte;
      }
    }
  }
  for (auto& piece : vocab.pieces) {
    if (piece.find(' ') != std::string::npos) piece = replace_all(piece, " ", kSpaceMark);
  }
}

class SpmTokenizer final : public Tokenizer {
 public:
  explicit SpmTokenizer(SpmVocab vocab) : vocab_(std::move(vocab)) {
    normalize_vocab(vocab_);
    const size_t n = vocab_.pieces.size();
    std::vector<std::string> texts(n);
    std::vector<AddedToken> user_defined;
    for (size_t i = 0; i < n; ++i) {
      const auto id = static_cast<int32_t>(i);
      const std::string& piece = vocab_.pieces[i];
      const int32_t type = vocab_.types[i];
      // Byte pieces are found by their text; some old files type them as normal.
      const int byte = type == kTypeByte || type == kTypeNormal ? parse_byte_piece(piece) : -1;
      if (byte >= 0) {
        if (tables_.byte_ids[byte] < 0) tables_.byte_ids[byte] = id;
        texts[i] = std::string(1, static_cast<char>(byte));
      } else if (from_text(type)) {
        tables_.piece_ids.emplace(piece, id);  // the first of duplicate pieces wins
        texts[i] = replace_all(piece, kSpaceMark, " ");
        if (type == kTypeUserDefined) user_defined.push_back({texts[i], id});
      }
    }
    tables_.unk_id = vocab_.unk_id;
    // Every way to split a piece into two pieces is a merge with the piece's score.
    for (size_t i = 0; i < n; ++i) {
      const auto id = static_cast<int32_t>(i);
      const std::string& piece = vocab_.pieces[i];
      if (!from_text(vocab_.types[i]) || tables_.piece_id(piece) != id) continue;
      for (size_t cut = utf8_char_len(piece, 0); cut < piece.size();
           cut += utf8_char_len(piece, cut)) {
        const int32_t left = tables_.piece_id(std::string_view(piece).substr(0, cut));
        const int32_t right = tables_.piece_id(std::string_view(piece).substr(cut));
        if (left >= 0 && right >= 0) tables_.add_merge(left, right, -vocab_.scores[i], id);
      }
    }
    user_defined_ = AddedTokenSplitter(std::move(user_defined));
    decoder_ = PieceDecoder(std::move(texts), vocab_.bos_id, /*strip_first_space=*/true);
  }

  std::vector<int32_t> encode(std::string_view text, bool add_bos) const override {
    std::vector<int32_t> out;
    if (add_bos && vocab_.bos_id >= 0) out.push_back(vocab_.bos_id);
    if (text.empty()) return out;
    const std::vector<Segment> segments =
        user_defined_.empty() ? std::vector<Segment>{{text}} : user_defined_.split(text);
    bool prefix = vocab_.add_dummy_prefix;  // at the start and after a user-defined token
    for (const Segment& segment : segments) {
      if (segment.id >= 0) {
        out.push_back(segment.id);
        prefix = vocab_.add_dummy_prefix;
        continue;
      }
      std::string word = prefix ? std::string(kSpaceMark) : std::string();
      word += replace_all(segment.text, " ", kSpaceMark);
      prefix = false;
      bpe_encode_word(word, tables_, out);
    }
    return out;
  }

  std::string decode(std::span<const int32_t> ids) const override { return decoder_.decode(ids); }
  std::string decode_token(int32_t prev, int32_t id) const override {
    return decoder_.decode_token(prev, id);
  }
  int32_t vocab_size() const override { return static_cast<int32_t>(vocab_.pieces.size()); }
  int32_t bos_id() const override { return vocab_.bos_id; }
  int32_t eos_id() const override { return vocab_.eos_id; }
  void save(const std::filesystem::path& dir) const override {
    write_llama2c_tokenizer(vocab_, dir / "tokenizer.bin");
  }
  const SpmVocab* spm_vocab() const override { return &vocab_; }

 private:
  SpmVocab vocab_;
  BpeTables tables_;
  AddedTokenSplitter user_defined_;
  PieceDecoder decoder_;
};

}  // namespace

std::unique_ptr<Tokenizer> make_spm_tokenizer(SpmVocab vocab) {
  return std::make_unique<SpmTokenizer>(std::move(vocab));
}

}  // namespace lowbit
