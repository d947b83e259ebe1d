// SPDX-License-Identifier: MIT
// A Hugging Face byte-level BPE tokenizer.json (GPT-2 / SmolLM / Llama-3 / Qwen2 style) as the
// tokenizer keys of a GGUF "gpt2" vocabulary, so `quantize --format gguf` can export models whose
// tokenizer is not already GGUF keys (HF directories, lowbit checkpoints made from them or from
// a BPE .gguf):
//   tokenizer.ggml.model       "gpt2"
//   tokenizer.ggml.tokens      every id's piece (model vocab, then added tokens by id)
//   tokenizer.ggml.token_type  1 normal, 3 control (added special tokens), 4 user-defined (other
//                              added tokens)
//   tokenizer.ggml.merges      "left right" in rank order
//   tokenizer.ggml.pre         the llama.cpp label whose regex list equals the file's Split
//                              regexes (io/tokenizer_pre_styles.h); a single ByteLevel with its
//                              own regex is "gpt2"
//   bos / eos / padding ids    from the model config (bos_token_id, eos_token_id, pad_token_id)
//   unknown_token_id           the model's unk_token, when it has one
//   add_bos_token              whether the post-processor puts a special token before $A
// Throws Unsupported naming the file for what llama.cpp could not reproduce (not BPE, not byte
// level, a pre-tokenizer no label has, a normalizer other than NFC, ids with no piece).
#pragma once

#include <filesystem>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/gguf_writer.h"

namespace lowbit::io {

std::vector<GgufKv> gguf_bpe_tokenizer_metadata(const std::filesystem::path& tokenizer_json,
                                                const nlohmann::json& hf_config);

}  // namespace lowbit::io
