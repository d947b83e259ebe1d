// SPDX-License-Identifier: MIT
// Implementation of table-driven decoding.
#include "io/tokenizer_decode.h"

#include <utility>

#include "util/error.h"

namespace lowbit::tokenizer_detail {

PieceDecoder::PieceDecoder(std::vector<std::string> texts, int32_t bos_id, bool strip_first_space)
    : texts_(std::move(texts)), bos_id_(bos_id), strip_first_space_(strip_first_space) {}

const std::string& PieceDecoder::text_of(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= texts_.size()) {
    throw InvalidArgument(
        concat("token id ", id, " is outside the vocabulary (size ", texts_.size(), ")"));
  }
  return texts_[static_cast<size_t>(id)];
}

std::string PieceDecoder::decode_token(int32_t prev, int32_t id) const {
  const std::string& text = text_of(id);
  const bool starts_text = prev < 0 || (bos_id_ >= 0 && prev == bos_id_);
  if (strip_first_space_ && starts_text && !text.empty() && text[0] == ' ') return text.substr(1);
  return text;
}

std::string PieceDecoder::decode(std::span<const int32_t> ids) const {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    const int32_t prev = i == 0 ? -1 : ids[i - 1];
    const std::string& text = text_of(ids[i]);
    const bool starts_text = prev < 0 || (bos_id_ >= 0 && prev == bos_id_);
    if (strip_first_space_ && starts_text && !text.empty() && text[0] == ' ') {
      out.append(text, 1);
    } else {
      out += text;
    }
  }
  return out;
}

}  // namespace lowbit::tokenizer_detail
