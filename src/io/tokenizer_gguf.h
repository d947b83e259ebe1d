// SPDX-License-Identifier: MIT
// Byte-level BPE tokenizer built from a GGUF file's embedded "gpt2" vocabulary (Llama-3, Qwen2).
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
//   pre          "llama-bpe"/"llama3"/"llama-v3": Llama-3 regex, ignore_merges, BOS by default;
//                "qwen2"/"deepseek-r1-qwen": Qwen2 regex and NFC (as Qwen2's tokenizer.json);
//                "default"/"gpt2"/"gpt-2"/absent: GPT-2 regex; others throw Unsupported
//   bos_token_id prepended by encode(add_bos) when add_bos_token (default as above) is true
//   eos_token_id eos_id() (absent: the first of the usual end-of-text names in the vocabulary)
// save() writes an equivalent Hugging Face tokenizer.json. Malformed metadata throws
// FormatError naming `file_name` and the key.
std::unique_ptr<Tokenizer> make_gguf_bpe_tokenizer(const nlohmann::json& metadata,
                                                   const std::string& file_name);

}  // namespace lowbit
