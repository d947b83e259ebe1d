// SPDX-License-Identifier: MIT
// Splitting text on added/special tokens (leftmost-longest match), before the model runs.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lowbit::tokenizer_detail {

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool lstrip = false;       // also swallow whitespace just before the match
  bool rstrip = false;       // also swallow whitespace just after the match
  bool single_word = false;  // only match when not inside a word
};

// A piece of the input: plain text (id < 0) or one added token (id >= 0).
struct Segment {
  std::string_view text;
  int32_t id = -1;
};

class AddedTokenSplitter {
 public:
  AddedTokenSplitter() = default;
  explicit AddedTokenSplitter(std::vector<AddedToken> tokens);
  bool empty() const { return tokens_.empty(); }
  // Splits `text` into plain runs and added tokens; plain runs are never empty. The content of
  // every token is matched on the raw text (case-sensitive, byte-exact). Whitespace for
  // lstrip/rstrip means ASCII whitespace.
  std::vector<Segment> split(std::string_view text) const;

 private:
  std::vector<AddedToken> tokens_;
  std::array<std::vector<int32_t>, 256> by_first_byte_;  // longest content first
};

}  // namespace lowbit::tokenizer_detail
