// SPDX-License-Identifier: MIT
// The pre-tokenizers that a GGUF "gpt2" (byte-level BPE) vocabulary selects with its
// tokenizer.ggml.pre label, as a table: label -> ordered regex list + flags (llama.cpp's
// llama-vocab.cpp label table; regexes from docs/FORMATS.md "BPE pre-tokenizer labels").
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace lowbit::tokenizer_detail {

struct BpePreStyle {
  static constexpr size_t kMaxPatterns = 6;
  // Applied in order: each regex runs inside every current piece and both its matches and the
  // gaps between them become pieces (llama.cpp's unicode_regex_split; the same as a Sequence of
  // Hugging Face Split(behavior Isolated) pre-tokenizers). Unused slots are empty.
  std::array<std::string_view, kMaxPatterns> patterns{};
  bool ignore_merges = false;  // a pre-token that is itself a token is emitted whole
  bool add_bos = false;        // BOS when tokenizer.ggml.add_bos_token is absent
  bool no_bos = false;         // the vocabulary's BOS id is dropped (GLM-4)
  bool nfc = false;            // NFC normalizer, as Qwen2's own tokenizer.json has it
  // llama.cpp's clean_spaces flag is not recorded: it only acts in llama.cpp's whole-sequence
  // detokenize; lowbit decodes like Hugging Face `tokenizers` and llama.cpp's per-token
  // token_to_piece, which keep every space.

  size_t pattern_count() const {
    size_t n = 0;
    while (n < kMaxPatterns && !patterns[n].empty()) ++n;
    return n;
  }
};

// The style for `label`, or nullptr when the table does not know it. Labels match exactly.
const BpePreStyle* find_bpe_pre_style(std::string_view label);

// The first label of the row whose regex list is exactly `patterns` (in order) and whose
// ignore_merges flag is `ignore_merges`, or empty when no row has it: the label a GGUF export
// of a byte-level BPE tokenizer.json names (llama.cpp treats a row's labels alike).
std::string_view bpe_pre_label_of(const std::vector<std::string>& patterns, bool ignore_merges);

// The GPT-2 list (one regex): what an unknown label falls back to.
const BpePreStyle& gpt2_pre_style();

// The label llama.cpp uses when tokenizer.ggml.pre is absent or empty.
inline constexpr std::string_view kDefaultPreLabel = "default";

}  // namespace lowbit::tokenizer_detail
