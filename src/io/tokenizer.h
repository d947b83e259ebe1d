// SPDX-License-Identifier: MIT
// Tokenizer interface and factories. Two families:
//  - SentencePiece-style BPE with byte fallback (llama2.c tokenizer.bin, GGUF "llama" vocab,
//    Llama-2 tokenizer.json): greedy merging of the adjacent pair with the best score/rank.
//  - byte-level BPE (GPT-2 / Llama-3 / Qwen2 tokenizer.json) with a regex pre-tokenizer.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lowbit {

// A SentencePiece-style vocabulary: pieces use U+2581 (▁) for spaces except in llama2.c files,
// where the loader converts them. types follow GGUF token_type (1 normal, 2 unknown, 3 control,
// 4 user-defined, 5 unused, 6 byte).
struct SpmVocab {
  std::vector<std::string> pieces;
  std::vector<float> scores;
  std::vector<int32_t> types;
  int32_t bos_id = 1, eos_id = 2, unk_id = 0;
  bool add_dummy_prefix = true;
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Token ids of `text`; with add_bos a BOS id comes first (when the vocabulary has one).
  virtual std::vector<int32_t> encode(std::string_view text, bool add_bos) const = 0;
  // The text of a whole sequence (BOS/EOS and other control tokens produce nothing).
  virtual std::string decode(std::span<const int32_t> ids) const = 0;
  // The text that token `id` adds when it follows `prev` (for streaming output).
  virtual std::string decode_token(int32_t prev, int32_t id) const = 0;
  virtual int32_t vocab_size() const = 0;
  virtual int32_t bos_id() const = 0;  // -1 when none
  virtual int32_t eos_id() const = 0;  // -1 when none
  // Writes this tokenizer into a checkpoint directory (tokenizer.json or tokenizer.bin).
  virtual void save(const std::filesystem::path& dir) const = 0;
  // The SentencePiece vocabulary (pieces with U+2581 for spaces, types filled in) when this is
  // a SentencePiece-style tokenizer; null otherwise. The GGUF writer exports it.
  virtual const SpmVocab* spm_vocab() const { return nullptr; }
};

std::unique_ptr<Tokenizer> make_spm_tokenizer(SpmVocab vocab);
// llama2.c tokenizer.bin; vocab_size comes from the model header.
std::unique_ptr<Tokenizer> load_llama2c_tokenizer(const std::filesystem::path& path,
                                                  int32_t vocab_size);
// Hugging Face tokenizer.json (Llama-2 SPM-BPE or byte-level BPE).
std::unique_ptr<Tokenizer> load_tokenizer_json(const std::filesystem::path& path);

}  // namespace lowbit
