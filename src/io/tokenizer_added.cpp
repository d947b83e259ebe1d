// SPDX-License-Identifier: MIT
// Implementation of added-token splitting: at each position try the tokens that start with the
// byte there, longest first; the first hit splits the text.
#include "io/tokenizer_added.h"

#include <algorithm>

namespace lowbit::tokenizer_detail {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool is_word_byte(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x80 || c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
         (c >= 'A' && c <= 'Z');
}

}  // namespace

AddedTokenSplitter::AddedTokenSplitter(std::vector<AddedToken> tokens) {
  for (auto& token : tokens) {
    if (!token.content.empty()) tokens_.push_back(std::move(token));
  }
  for (size_t i = 0; i < tokens_.size(); ++i) {
    by_first_byte_[static_cast<uint8_t>(tokens_[i].content[0])].push_back(static_cast<int32_t>(i));
  }
  for (auto& list : by_first_byte_) {
    std::stable_sort(list.begin(), list.end(), [&](int32_t a, int32_t b) {
      return tokens_[a].content.size() > tokens_[b].content.size();
    });
  }
}

std::vector<Segment> AddedTokenSplitter::split(std::string_view text) const {
  std::vector<Segment> out;
  size_t plain_start = 0;  // start of the plain run not yet emitted
  size_t pos = 0;
  while (pos < text.size()) {
    const AddedToken* hit = nullptr;
    for (const int32_t index : by_first_byte_[static_cast<uint8_t>(text[pos])]) {
      const AddedToken& token = tokens_[index];
      if (text.compare(pos, token.content.size(), token.content) != 0) continue;
      const size_t end = pos + token.content.size();
      if (token.single_word && ((pos > 0 && is_word_byte(text[pos - 1])) ||
                                (end < text.size() && is_word_byte(text[end])))) {
        continue;
      }
      hit = &token;
      break;
    }
    if (hit == nullptr) {
      ++pos;
      continue;
    }
    size_t plain_end = pos;
    if (hit->lstrip) {
      while (plain_end > plain_start && is_space(text[plain_end - 1])) --plain_end;
    }
    if (plain_end > plain_start) out.push_back({text.substr(plain_start, plain_end - plain_start)});
    size_t end = pos + hit->content.size();
    if (hit->rstrip) {
      while (end < text.size() && is_space(text[end])) ++end;
    }
    out.push_back({text.substr(plain_end, end - plain_end), hit->id});
    pos = plain_start = end;
  }
  if (pos > plain_start) out.push_back({text.substr(plain_start, pos - plain_start)});
  return out;
}

}  // namespace lowbit::tokenizer_detail
