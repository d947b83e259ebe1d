// SPDX-License-Identifier: MIT
// GGUF v3 writer for the "llama" architecture: what llama.cpp needs to load a model (the
// hyper-parameter keys with the value types its loader checks, the tokenizer keys, the tensor
// infos with offsets equal to the running padded sizes) and lowbit's GGUF reader reads back.
//
// Tensors are written in the ggml type that holds them exactly, or refused:
//   f32 / f16 / bf16                         F32 / F16 / BF16 (bytes as stored)
//   affine_int 8 / 4 / 5 bits, g32, sym,     Q8_0 / Q4_0 / Q5_0: each group of 32 is one block,
//   f16 scales, cols a multiple of 32        d = the f16 scale bit for bit, q = code - 2^(bits-1)
//   affine_int 4 / 5 bits, g32, min form,    Q4_1 / Q5_1: d and m = the f16 scale and min bit
//   f16 scales, cols a multiple of 32        for bit, q = code
//   iq4_nl g32, cols a multiple of 32        IQ4_NL: d = the f16 scale, q = code
//   k-quants (q4_k, q5_k, q6_k)              Q4_K / Q5_K / Q6_K: scale bytes and codes as held
// (io/ggml_blocks.h, pack_ggml_blocks). Any other format throws Unsupported naming the tensor.
// Names: HF Llama names become GGUF ones (io/hf_names.h); rope_freqs.weight keeps its name.
// q_proj / k_proj rows (and biases) in HF half-split RoPE order (config
// lowbit_rope_interleaved false or absent) are permuted to GGUF's adjacent-pair order.
// The file is written atomically (util/atomic_file.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/tokenizer.h"
#include "tensor/tensor_map.h"

namespace lowbit::io {

class GgufFile;

// GGUF metadata value types (gguf.h).
enum class GgufValueType : uint32_t {
  u8 = 0,
  i8 = 1,
  u16 = 2,
  i16 = 3,
  u32 = 4,
  i32 = 5,
  f32 = 6,
  boolean = 7,
  string = 8,
  array = 9,
  u64 = 10,
  i64 = 11,
  f64 = 12,
};

// One metadata pair. For arrays `type` is array, `element` the element type and `value` a JSON
// array; otherwise `value` is a number, bool or string.
struct GgufKv {
  std::string key;
  GgufValueType type = GgufValueType::u32;
  nlohmann::json value;
  GgufValueType element = GgufValueType::u8;
};

// The ggml type id a tensor is written as (see the header comment), or nullopt.
std::optional<uint32_t> gguf_type_for(const QuantizedTensor& t);

// The llama.* and general.* keys for an HF config (io/model_source.h keys). Throws
// InvalidArgument when a required key is missing or partial RoPE is asked for.
std::vector<GgufKv> gguf_llama_metadata(const nlohmann::json& hf_config);

// The tokenizer keys of a GGUF file (tokenizer.ggml.model, tokens, scores, token_type, merges,
// pre, the special token ids and add_* flags, tokenizer.chat_template) with the value types
// llama.cpp expects; keys the file does not have are left out. Throws FormatError naming the
// file when tokenizer.ggml.tokens is missing.
std::vector<GgufKv> gguf_tokenizer_metadata(const GgufFile& source);

// The "llama" (SentencePiece) tokenizer keys of a vocabulary: tokens, scores (f32), token_type
// (i32), bos / eos / unknown ids (u32, when the vocabulary has them), add_space_prefix.
std::vector<GgufKv> gguf_spm_tokenizer_metadata(const SpmVocab& vocab);

// Writes `tensors` (HF names) as a GGUF v3 llama file at `path` with the llama metadata of
// `hf_config`, general.file_type `file_type` (a llama_ftype, when given), and `extra` keys
// (the tokenizer). Throws Unsupported naming the tensor when one has no GGUF type or name,
// InvalidArgument for a bad config.
void write_gguf(const std::filesystem::path& path, const nlohmann::json& hf_config,
                const TensorMap& tensors, const std::vector<GgufKv>& extra,
                std::optional<uint32_t> file_type = std::nullopt);

}  // namespace lowbit::io
