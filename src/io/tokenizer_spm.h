// SPDX-License-Identifier: MIT
// SentencePiece-style tokenizer internals: GGUF token types and the llama2.c tokenizer.bin writer.
#pragma once

#include <cstdint>
#include <filesystem>

#include "io/tokenizer.h"

namespace lowbit::tokenizer_detail {

// GGUF token_type values.
enum TokenType : int32_t {
  kTypeNormal = 1,
  kTypeUnknown = 2,
  kTypeControl = 3,
  kTypeUserDefined = 4,
  kTypeUnused = 5,
  kTypeByte = 6,
};

// Writes `vocab` as a llama2.c tokenizer.bin at `path`: int32 max_token_length, then per token
// f32 score, i32 length and the bytes (U+2581 written as a space; BOS/EOS as "\n<s>\n" /
// "\n</s>\n").
void write_llama2c_tokenizer(const SpmVocab& vocab, const std::filesystem::path& path);

}  // namespace lowbit::tokenizer_detail
