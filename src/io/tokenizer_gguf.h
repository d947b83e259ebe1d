// SPDX-License-Identifier: MIT
// Byte-level BPE tokenizer built from a GGUF file's embedded "gpt2" vocabulary (Llama-3, Qwen2,
// SmolLM, ...).
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "io/tokenizer.h"

namespace lowbit {

// The tokenizer described by GGUF metadata (io::GgufFile::metadata()) whose
// tokenizer.ggml.model is "gpt2":
//   tokens       vocabulary, id = index (string array, required)
//   merges       "a b" strings, rank = index (required; parts and result must be tokens)
//   token_type   3 control / 4 user-defined tokens are matched on the raw text first;
//                control tokens decode to nothing, user-defined ones to their text
//   pre          the pre-tokenizer label, looked up in io/tokenizer_pre_styles.h (llama.cpp's
//                labels: llama-bpe, qwen2, smollm, gpt-4o, tekken, ...): an ordered regex list
//                and flags (ignore_merges, BOS by default, NFC for qwen2); absent or empty:
//                llama.cpp's "default" list; unknown: the GPT-2 regex, with a warning on stderr
//   bos_token_id prepended by encode(add_bos) when add_bos_token (default as above) is true
//   eos_token_id eos_id() (absent: the first of the usual end-of-text names in the vocabulary)
// save() writes an equivalent Hugging Face tokenizer.json. Malformed metadata throws
// FormatError naming `file_name` and the key.
std::unique_ptr<Tokenizer> make_gguf_bpe_tokenizer(const nlohmann::json& metadata,
                                                   const std::string& file_name);

}  // namespace lowbit
