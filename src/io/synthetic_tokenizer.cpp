// SPDX-License-Identifier: MIT
// Building the synthetic tokenizer.json: greedy BPE training on a short embedded text, then
// seeded synthetic pieces up to the requested vocabulary size.
#include "io/synthetic_tokenizer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "io/tokenizer_text.h"
#include "util/check.h"
#include "util/error.h"
#include "util/splitmix.h"

namespace lowbit {

namespace {

using tokenizer_detail::kSpaceMark;

constexpr int32_t kFirstPiece = 259;  // after <unk>, <s>, </s> and 256 byte tokens
constexpr size_t kMaxPieceBytes = 16;

constexpr std::string_view kTrainingText = R"(
The river starts high in the hills, where snow melts slowly in the spring. Small streams run
over stones and join together, and by the time the water reaches the town it is wide and calm.
People walk along its banks in the evening, and children throw bread to the ducks near the old
bridge. In summer the water is warm enough for swimming, and in winter thin ice forms at the edges.

A baker on the corner opens her shop before the sun comes up. She mixes flour, water, salt and
yeast, then leaves the dough to rise while she heats the oven. By six o'clock the first loaves are
ready, and the smell of fresh bread fills the street. Her neighbours say it is the best alarm clock
in the world, because nobody can stay asleep when the bakery is open.

Learning to play an instrument takes patience. At first the notes sound thin and uneven, and the
fingers feel slow and clumsy. Every day of practice makes a small difference, even when it does not
seem like it. After a few months the melody begins to flow, and the player starts to listen to the
music instead of thinking about each finger. That moment is worth all of the early mistakes.

The library in the middle of the city has thousands of books, maps and old newspapers. Students
come to read quietly at the long wooden tables, and writers sit near the windows to watch the
light change during the day. The librarians know where everything is kept, and they are always
happy to help someone find a rare story or a forgotten record of the past.

When the storm arrived, the wind bent the trees and rain hammered on the roofs. The lights went out
for an hour, so the family lit candles and played cards at the kitchen table. Outside, thunder
rolled across the valley. By morning the sky was clear again, the garden was full of puddles, and
the air smelled clean and cool. Nothing was broken, but the path was covered with leaves.

Computers follow instructions exactly, which is both their strength and their weakness. A program
does what it was told to do, not what its author meant. Good engineers write small tests that check
each part, measure before they optimise, and keep their code simple enough that another person can
read it. When something fails, they look for the cause instead of guessing, and they fix it once.

On the farm there were three cows, two horses, a dozen chickens and a very old dog named Pepper.
Every morning the farmer walked the fields to check the fences and the water troughs. In the autumn
the whole village helped with the harvest, and afterwards there was a long dinner in the barn with
music, laughter and stories that were told again every year.

Travelling by train is slower than flying, but it shows you the country. You see farms and forests,
quiet stations and busy cities, mountains in the distance and rivers under the bridges. You can
read, sleep, or talk with the person sitting across from you. Many people remember a journey more
for the conversations they had than for the places where they arrived.
)";

class Builder {
 public:
  explicit Builder(int32_t vocab_size) : vocab_size_(vocab_size) {}

  bool full() const { return kFirstPiece + static_cast<int32_t>(pieces_.size()) >= vocab_size_; }

  // Adds `piece` unless present; returns its index in pieces_.
  int32_t add(const std::string& piece) {
    const auto [it, inserted] = index_.try_emplace(piece, static_cast<int32_t>(pieces_.size()));
    if (inserted) pieces_.push_back(piece);
    return it->second;
  }
  bool has(const std::string& piece) const { return index_.count(piece) != 0; }
  const std::vector<std::string>& pieces() const { return pieces_; }
  int32_t index_of(const std::string& piece) const { return index_.at(piece); }

 private:
  int32_t vocab_size_;
  std::vector<std::string> pieces_;
  std::unordered_map<std::string, int32_t> index_;
};

// Single characters: U+2581, then the text's characters by frequency, then the rest of ASCII.
void add_characters(Builder& b) {
  std::map<char, int> counts;
  for (const char c : kTrainingText) {
    if (c > ' ' && c < 0x7F) ++counts[c];
  }
  std::vector<std::pair<int, char>> order;
  for (const auto& [c, n] : counts) order.emplace_back(-n, c);
  std::sort(order.begin(), order.end());
  if (!b.full()) b.add(std::string(kSpaceMark));
  for (const auto& [n, c] : order) {
    if (!b.full()) b.add(std::string(1, c));
  }
  for (char c = '!'; c <= '~'; ++c) {
    if (!b.full()) b.add(std::string(1, c));
  }
}

// Greedy BPE on the words of the text ("▁word"), most frequent pair first, ties by pair text.
void train(Builder& b) {
  std::map<std::string, int> word_counts;
  std::string word;
  for (const char c : std::string(kTrainingText) + " ") {
    if (c == ' ' || c == '\n') {
      if (!word.empty()) ++word_counts[std::string(kSpaceMark) + word];
      word.clear();
    } else {
      word += c;
    }
  }
  std::vector<std::pair<std::vector<std::string>, int>> words;
  for (const auto& [w, n] : word_counts) {
    std::vector<std::string> symbols{std::string(kSpaceMark)};
    bool known = b.has(symbols[0]);
    for (size_t i = kSpaceMark.size(); i < w.size(); ++i) {
      symbols.emplace_back(1, w[i]);
      known = known && b.has(symbols.back());
    }
    if (known) words.emplace_back(std::move(symbols), n);
  }
  while (!b.full()) {
    std::map<std::pair<std::string, std::string>, int> pair_counts;
    for (const auto& [symbols, n] : words) {
      for (size_t i = 0; i + 1 < symbols.size(); ++i)
        pair_counts[{symbols[i], symbols[i + 1]}] += n;
    }
    if (pair_counts.empty()) return;
    auto best = pair_counts.begin();
    for (auto it = pair_counts.begin(); it != pair_counts.end(); ++it) {
      if (it->second > best->second) best = it;
    }
    const auto [left, right] = best->first;
    const std::string merged = left + right;
    b.add(merged);
    for (auto& [symbols, n] : words) {
      std::vector<std::string> next;
      for (size_t i = 0; i < symbols.size(); ++i) {
        if (i + 1 < symbols.size() && symbols[i] == left && symbols[i + 1] == right) {
          next.push_back(merged);
          ++i;
        } else {
          next.push_back(symbols[i]);
        }
      }
      symbols = std::move(next);
    }
  }
}

// Joins two random pieces (the second never starts with U+2581) until the vocabulary is full.
void extend(Builder& b, uint64_t seed) {
  uint64_t state = seed;
  size_t failures = 0;  // consecutive draws that found nothing new: give up only when stuck
  while (!b.full()) {
    const auto& pieces = b.pieces();
    const std::string& left = pieces[splitmix64_next(state) % pieces.size()];
    const std::string& right = pieces[splitmix64_next(state) % pieces.size()];
    std::string merged = left + right;
    if (right.starts_with(kSpaceMark) || merged.size() > kMaxPieceBytes || b.has(merged)) {
      LB_CHECK_ARG(++failures < 1000000, "synthetic tokenizer: cannot find new pieces");
      continue;
    }
    b.add(merged);
    failures = 0;
  }
}

}  // namespace

std::string make_synthetic_tokenizer_json(int32_t vocab_size, uint64_t seed) {
  LB_CHECK_ARG(vocab_size >= kFirstPiece, "synthetic tokenizer needs vocab_size >= ", kFirstPiece,
               ", got ", vocab_size);
  Builder builder(vocab_size);
  add_characters(builder);
  if (!builder.full()) train(builder);
  if (!builder.full()) extend(builder, seed);

  using ordered = nlohmann::ordered_json;
  ordered vocab = ordered::object();
  // ordered_map's operator[] searches linearly; the keys are unique, so append directly.
  auto& entries = vocab.get_ref<ordered::object_t&>();
  entries.reserve(static_cast<size_t>(vocab_size));
  ordered added = ordered::array();
  const char* specials[] = {"<unk>", "<s>", "</s>"};
  for (int32_t id = 0; id < 3; ++id) {
    entries.emplace_back(specials[id], id);
    added.push_back({{"id", id},
                     {"content", specials[id]},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
  }
  for (int b = 0; b < 256; ++b) {
    entries.emplace_back(tokenizer_detail::byte_piece(static_cast<uint8_t>(b)), 3 + b);
  }
  const auto& pieces = builder.pieces();
  for (size_t i = 0; i < pieces.size(); ++i) {
    entries.emplace_back(pieces[i], kFirstPiece + static_cast<int32_t>(i));
  }
  // Every split of each piece into two pieces, ranked by the piece (then by split point).
  ordered merges = ordered::array();
  for (const std::string& piece : pieces) {
    for (size_t cut = tokenizer_detail::utf8_char_len(piece, 0); cut < piece.size();
         cut += tokenizer_detail::utf8_char_len(piece, cut)) {
      const std::string left = piece.substr(0, cut), right = piece.substr(cut);
      if (builder.has(left) && builder.has(right)) merges.push_back({left, right});
    }
  }
  const ordered bos_item = {{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}};
  ordered root;
  root["version"] = "1.0";
  root["truncation"] = nullptr;
  root["padding"] = nullptr;
  root["added_tokens"] = added;
  root["normalizer"] = {
      {"type", "Sequence"},
      {"normalizers",
       {{{"type", "Prepend"}, {"prepend", kSpaceMark}},
        {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", kSpaceMark}}}}};
  root["pre_tokenizer"] = nullptr;
  root["post_processor"] = {
      {"type", "TemplateProcessing"},
      {"single", {bos_item, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
      {"pair",
       {bos_item,
        {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
        {{"SpecialToken", {{"id", "<s>"}, {"type_id", 1}}}},
        {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
      {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {1}}, {"tokens", {"<s>"}}}}}}};
  root["decoder"] = {
      {"type", "Sequence"},
      {"decoders",
       {{{"type", "Replace"}, {"pattern", {{"String", kSpaceMark}}}, {"content", " "}},
        {{"type", "ByteFallback"}},
        {{"type", "Fuse"}},
        {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}};
  root["model"] = {{"type", "BPE"},
                   {"dropout", nullptr},
                   {"unk_token", "<unk>"},
                   {"continuing_subword_prefix", nullptr},
                   {"end_of_word_suffix", nullptr},
                   {"fuse_unk", true},
                   {"byte_fallback", true},
                   {"ignore_merges", false},
                   {"vocab", vocab},
                   {"merges", merges}};
  return root.dump();
}

}  // namespace lowbit
