// SPDX-License-Identifier: MIT
// GGUF reader (versions 1-3): metadata as JSON, tensor infos, conversion of the "llama"
// architecture to an HF config and HF-named QuantizedTensors, and the SentencePiece vocabulary.
//
// File layout (little-endian): "GGUF", u32 version, tensor count, KV count, KV pairs, tensor
// infos, zero padding to general.alignment (default 32), data section. Counts, string lengths
// and array lengths are u64 in versions 2 and 3 and u32 in version 1; tensor dims likewise.
// A KV pair is a string key, a u32 value type and the value; a tensor info is a string name,
// u32 n_dims (<= 4), dims ne[0..n) with ne[0] the innermost (contiguous) dimension, u32 ggml
// type and a u64 offset into the data section (a multiple of the alignment).
//
// Tensor types lowbit reads (io/ggml_blocks.h decodes them; docs/FORMATS.md has the layouts):
//   F32, F16, BF16  dense, borrowed from the mapping (copied when misaligned)
//   Q8_0, Q4_0,     held packed, exactly: y = d * (q - z) with z = 128, 8, 16 is lowbit's
//   Q5_0            affine_int bits 8/4/5 g32 sym (symmetric zero 2^(bits-1)); scale = the block's
//                   f16 d copied bit for bit, codes re-packed from ggml's block order (Q4_0/Q5_0
//                   nibbles: element j < 16 low, j + 16 high; Q5_0 bit 4 from qh) into lowbit's
//                   dense bit stream
//   Q4_1, Q5_1      dequantized to f32 at load: y = d * q + m has a float offset m that is not
//                   scale times an integer code, so no affine_int zero-point reproduces it
//   Q2_K..Q6_K      dequantized to f32: two-level scales (a 4/6/8-bit scale per sub-block of a
//                   super-block scale) that no single lowbit scale reproduces
//   IQ4_NL, IQ4_XS  dequantized to f32: a non-uniform 16-value codebook
//   TQ1_0, TQ2_0    dequantized to f32: ternary codes (base-3 digits / 2-bit fields)
//   MXFP4           dequantized to f32: E2M1 codes with an E8M0 power-of-two scale
// Decoded values equal ggml's own dequantization bit for bit. Other types (Q8_1, Q8_K, IQ1/2/3,
// integer and F64 tensors) throw Unsupported naming the tensor and the type. A row length ne[0]
// that is not a whole number of blocks, or tensor bytes outside the file, is a FormatError naming
// the tensor (open() checks every tensor of a known type). Non-finite decoded values are left to
// QuantizedTensor::check_finite, which the model loader and quantizer run on every weight.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/ggml_blocks.h"
#include "io/tokenizer.h"
#include "tensor/quantized_tensor.h"
#include "tensor/tensor_map.h"
#include "util/mmap_file.h"

namespace lowbit::io {

// "Q4_K" for 12; "type 99" for an id lowbit does not know.
std::string ggml_type_name(uint32_t type);

struct GgufTensorInfo {
  std::string name;               // GGUF name (token_embd.weight, blk.0.attn_q.weight, ...)
  std::vector<uint64_t> ne;       // ggml order: ne[0] innermost
  uint32_t type = 0;              // ggml type id
  uint64_t offset = 0;            // relative to the data section
  const uint8_t* data = nullptr;  // null when lowbit does not know the type's block size
  size_t size = 0;                // bytes, 0 when data is null

  // PyTorch order (ne reversed): a weight [out, in] is stored as ne = {in, out}.
  Shape shape() const;
};

// How tensor() turned `info` into `loaded`: "borrowed" (F32/F16/BF16; "copied (misaligned)" when
// the mapping could not be borrowed), "packed int4 g32 sym" (Q8_0/Q4_0/Q5_0) or
// "dequantized to f32".
std::string gguf_loaded_as(const GgufTensorInfo& info, const QuantizedTensor& loaded);

class GgufFile {
 public:
  // Maps and parses `path`, checking every count and length against the file size. Throws
  // FormatError naming the file (and key or tensor) when the file is malformed.
  static GgufFile open(const std::filesystem::path& path);

  const std::string& path() const { return file_->path(); }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // file offset of the data section
  // Every KV pair: integers, floats (f32 as their shortest decimal), bools, strings and
  // (nested) arrays, keyed by the GGUF key. "gpt2" tokenizers keep tokenizer.ggml.tokens and
  // tokenizer.ggml.merges here as string arrays.
  const nlohmann::json& metadata() const { return metadata_; }
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find(std::string_view name) const;

  // An HF config.json for general.architecture "llama" (see io/model_source.h for the keys;
  // lowbit_rope_interleaved is true since GGUF llama q/k rows are in adjacent-pair order).
  // Throws Unsupported for other architectures, FormatError for missing or bad keys.
  nlohmann::json hf_config() const;
  // One tensor converted as described in the header comment.
  QuantizedTensor tensor(const GgufTensorInfo& info) const;
  // The Hugging Face name of a tensor (rope_freqs.weight keeps its name); throws Unsupported for
  // names with no HF Llama equivalent.
  std::string hf_name(const GgufTensorInfo& info) const;
  // Every tensor under its HF name, in natural name order. rope_freqs.weight (Llama 3.1 RoPE
  // factors) keeps its GGUF name; other unmapped names throw Unsupported.
  TensorMap hf_tensors() const;
  // The SentencePiece vocabulary when tokenizer.ggml.model is "llama"; nullopt otherwise.
  std::optional<SpmVocab> spm_vocab() const;

 private:
  std::shared_ptr<MappedFile> file_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  nlohmann::json metadata_ = nlohmann::json::object();
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> index_;
};

}  // namespace lowbit::io
