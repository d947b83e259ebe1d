// SPDX-License-Identifier: MIT
// The BPE merge engine shared by every tokenizer: start from code points (byte fallback for the
// rest), then repeatedly apply the best-ranked adjacent merge, leftmost first, in O(n log n).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace lowbit::tokenizer_detail {

// Hash for string-keyed maps that accept std::string_view lookups without a copy.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// One merge rule: left + right -> id. Lower priority merges first (an HF rank, or -score).
struct BpeMerge {
  double priority = 0;
  int32_t id = -1;
};

struct BpeTables {
  // Pieces reachable from text; a word's initial symbols are its code points looked up here.
  StringMap<int32_t> piece_ids;
  // Byte-fallback token of each byte (<0xHH>), -1 when missing or byte fallback is off.
  std::array<int32_t, 256> byte_ids;
  int32_t unk_id = -1;    // for code points with neither a piece nor byte tokens; -1: drop them
  bool fuse_unk = false;  // consecutive unknown code points become one unk token
  std::unordered_map<uint64_t, BpeMerge> merges;

  BpeTables() { byte_ids.fill(-1); }
  // Adds (or replaces) the rule left + right -> id.
  void add_merge(int32_t left, int32_t right, double priority, int32_t id);
  const BpeMerge* find_merge(int32_t left, int32_t right) const;
  // The id of `piece` in piece_ids, or -1.
  int32_t piece_id(std::string_view piece) const;
};

// Appends the tokens of `word` to `out`.
void bpe_encode_word(std::string_view word, const BpeTables& tables, std::vector<int32_t>& out);

}  // namespace lowbit::tokenizer_detail
