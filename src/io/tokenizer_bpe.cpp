// SPDX-License-Identifier: MIT
// BPE merging with a priority queue over a linked list of symbols; stale queue entries are
// recognised by checking that both symbols still hold the ids the entry was made for.
#include "io/tokenizer_bpe.h"

#include <queue>

#include "io/tokenizer_text.h"

namespace lowbit::tokenizer_detail {

namespace {

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

struct Symbol {
  int32_t id;    // -1 once merged into its left neighbour
  int32_t prev;  // index of the previous live symbol, -1 at the start
  int32_t next;  // index of the next live symbol, -1 at the end
};

struct Candidate {
  double priority;
  int32_t left, right;        // symbol indices
  int32_t left_id, right_id;  // their ids when the candidate was made
  int32_t result;
};

// Orders the queue so that top() is the lowest priority, then the leftmost position.
struct CandidateAfter {
  bool operator()(const Candidate& a, const Candidate& b) const {
    if (a.priority != b.priority) return a.priority > b.priority;
    return a.left > b.left;
  }
};

void initial_symbols(std::string_view word, const BpeTables& tables, std::vector<Symbol>& symbols) {
  bool last_unknown = false;
  const auto push = [&](int32_t id) {
    const auto index = static_cast<int32_t>(symbols.size());
    symbols.push_back({id, index - 1, index + 1});
  };
  for (size_t pos = 0; pos < word.size();) {
    const size_t len = utf8_char_len(word, pos);
    const std::string_view unit = word.substr(pos, len);
    pos += len;
    if (const int32_t id = tables.piece_id(unit); id >= 0) {
      push(id);
      last_unknown = false;
      continue;
    }
    bool all_bytes = true;
    for (const char c : unit)
      all_bytes = all_bytes && tables.byte_ids[static_cast<uint8_t>(c)] >= 0;
    if (all_bytes) {
      for (const char c : unit) push(tables.byte_ids[static_cast<uint8_t>(c)]);
      last_unknown = false;
      continue;
    }
    if (tables.unk_id < 0) continue;
    if (!(tables.fuse_unk && last_unknown)) push(tables.unk_id);
    last_unknown = true;
  }
  if (!symbols.empty()) symbols.back().next = -1;
}

}  // namespace

void BpeTables::add_merge(int32_t left, int32_t right, double priority, int32_t id) {
  merges.insert_or_assign(pair_key(left, right), BpeMerge{priority, id});
}

const BpeMerge* BpeTables::find_merge(int32_t left, int32_t right) const {
  const auto it = merges.find(pair_key(left, right));
  return it == merges.end() ? nullptr : &it->second;
}

int32_t BpeTables::piece_id(std::string_view piece) const {
  const auto it = piece_ids.find(piece);
  return it == piece_ids.end() ? -1 : it->second;
}

void bpe_encode_word(std::string_view word, const BpeTables& tables, std::vector<int32_t>& out) {
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  initial_symbols(word, tables, symbols);
  if (symbols.empty()) return;

  std::priority_queue<Candidate, std::vector<Candidate>, CandidateAfter> queue;
  const auto consider = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const int32_t left_id = symbols[left].id, right_id = symbols[right].id;
    if (const BpeMerge* merge = tables.find_merge(left_id, right_id)) {
      queue.push({merge->priority, left, right, left_id, right_id, merge->id});
    }
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(symbols.size()); ++i) consider(i, i + 1);

  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.left];
    if (left.id != top.left_id || left.next != top.right || symbols[top.right].id != top.right_id) {
      continue;  // stale: one side was merged since this entry was queued
    }
    Symbol& right = symbols[top.right];
    left.id = top.result;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.left;
    right.id = -1;
    consider(left.prev, top.left);
    consider(top.left, left.next);
  }
  for (int32_t i = 0; i >= 0; i = symbols[i].next) out.push_back(symbols[i].id);
}

}  // namespace lowbit::tokenizer_detail
