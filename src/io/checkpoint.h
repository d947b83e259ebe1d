// SPDX-License-Identifier: MIT
// Model directories: Hugging Face (config.json + safetensors, single or sharded) and lowbit's
// own quantized checkpoint (config.json with a "quantization" block + model.safetensors).
//
// lowbit checkpoint layout (docs/FORMATS.md has the full description):
//   config.json        the HF config plus
//                      "quantization": {<the given block>, "format_version": 1,
//                        "tensors": {NAME: {"kind", "bits", "group_size", "symmetric",
//                          "scale_dtype", "double_quant", "shape", "nested_offset"}}}
//                      with one "tensors" entry for every tensor that is not dense f32
//   model.safetensors  dense tensors under their own name and dtype (F32/F16/BF16); for a
//                      quantized tensor NAME:
//                        NAME.codes          U8 [rows, row_bytes]
//                        NAME.scales         scale_dtype (U8 codes when double-quantized)
//                                            [rows, groups_per_row], or [1] per-tensor
//                        NAME.zeros          F16, same shape (asymmetric affine_int only)
//                        NAME.nested_scales  F32 [ceil(scale_count / 256)] (nf4 double quant)
//   anything extra_files writes (tokenizer.json or tokenizer.bin)
#pragma once

#include <filesystem>
#include <functional>

#include <nlohmann/json.hpp>

#include "tensor/tensor_map.h"

namespace lowbit::io {

inline constexpr int kCheckpointFormatVersion = 1;

// Parses a config.json; throws FormatError "<path>: invalid JSON: ..." or "<path>: not a JSON
// object", and FormatError when the file cannot be read.
nlohmann::json read_config_json(const std::filesystem::path& path);

struct HfModel {
  nlohmann::json config;
  TensorMap tensors;  // dense, borrowed from the mapped safetensors, natural name order
};

// An HF directory: config.json plus model.safetensors or model.safetensors.index.json and
// its shards. Throws Unsupported for non-float tensors (e.g. GPTQ int32 packs) and for
// PyTorch .bin-only directories.
HfModel read_hf_directory(const std::filesystem::path& dir);

// True when dir/config.json parses and carries a "quantization" block with a format_version.
bool is_lowbit_checkpoint(const std::filesystem::path& dir);

struct Checkpoint {
  nlohmann::json config;        // the HF config, without the "quantization" block
  nlohmann::json quantization;  // the block as given to write_checkpoint
  TensorMap tensors;            // validated, borrowed from the mapping, natural name order
};

// Writes `dir` atomically. An existing `dir` must be an empty directory, or a lowbit
// checkpoint when `replace` is true (replaced in one step after everything succeeded);
// anything else is refused with InvalidArgument before any work. `config` must be a JSON
// object; `quantization` an object or null. extra_files, when given, writes more files into
// the (temporary) directory it receives.
void write_checkpoint(const std::filesystem::path& dir, const nlohmann::json& config,
                      const nlohmann::json& quantization, const TensorMap& tensors,
                      const std::function<void(const std::filesystem::path&)>& extra_files = {},
                      bool replace = false);

// Reads a checkpoint written by write_checkpoint; every buffer is bit-identical to what was
// written. Throws FormatError naming the file and tensor on any inconsistency, Unsupported
// for a newer format_version.
Checkpoint read_checkpoint(const std::filesystem::path& dir);

}  // namespace lowbit::io
