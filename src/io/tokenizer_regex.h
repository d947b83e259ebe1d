// SPDX-License-Identifier: MIT
// PCRE2 (UTF + Unicode properties, JIT when available) for regex pre-tokenizers.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lowbit::tokenizer_detail {

class Regex {
 public:
  // `literal` matches `pattern` as plain text. Throws Unsupported naming `what` when PCRE2
  // rejects the pattern.
  Regex(std::string_view pattern, bool literal, std::string_view what);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // The [begin, end) byte ranges of the successive non-empty matches in `text`. Invalid UTF-8
  // never matches (it ends up between matches).
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;

 private:
  void* code_ = nullptr;  // pcre2_code_8*
};

// GPT-2's pre-tokenizer pattern (ByteLevel with use_regex).
inline constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

}  // namespace lowbit::tokenizer_detail
