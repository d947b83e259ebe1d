// SPDX-License-Identifier: MIT
// Decoding by table: each id maps to the bytes it stands for; optionally one leading space is
// dropped from the piece that starts the text or follows BOS (SentencePiece / run.c behaviour).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace lowbit::tokenizer_detail {

class PieceDecoder {
 public:
  PieceDecoder() = default;
  // texts[id]: the bytes token id decodes to ("" for control tokens).
  PieceDecoder(std::vector<std::string> texts, int32_t bos_id, bool strip_first_space);
  // Throws InvalidArgument for an id outside the vocabulary.
  std::string decode(std::span<const int32_t> ids) const;
  // prev < 0 means `id` starts the text.
  std::string decode_token(int32_t prev, int32_t id) const;

 private:
  const std::string& text_of(int32_t id) const;
  std::vector<std::string> texts_;
  int32_t bos_id_ = -1;
  bool strip_first_space_ = false;
};

}  // namespace lowbit::tokenizer_detail
