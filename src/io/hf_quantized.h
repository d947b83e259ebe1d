// SPDX-License-Identifier: MIT
// Hugging Face quantized checkpoint layouts that serving engines read: compressed-tensors
// (vLLM, llm-compressor output), AutoGPTQ v1 ("gptq") and AutoAWQ GEMM ("awq"). Writers map
// lowbit QuantizedTensors onto them without requantizing (pure bit shuffles); readers map them
// back exactly, so an exported directory reloads bit for bit (codes, scales, zero-points).
//
// Directory: config.json (the HF config plus "quantization_config"), model.safetensors,
// quantize_config.json (gptq only), and whatever extra_files writes (the tokenizer).
// Per quantized Linear P (tensor P.weight in lowbit), see docs/FORMATS.md for the bit layouts:
//   compressed-tensors pack-quantized (affine_int weight-only, 2..8 bits):
//     P.weight_packed I32 [out, ceil(in*bits/32)], P.weight_scale [out, groups] | [1],
//     P.weight_shape I64 [2], asym: P.weight_zero_point I32 [ceil(out*bits/32), groups]
//   compressed-tensors int-quantized (int8 sym weights with int8 activations, W8A8):
//     P.weight I8 [out, in], P.weight_scale [out, 1] | [1], static: P.input_scale F32 [1]
//   compressed-tensors float-quantized (fp8 e4m3): P.weight F8_E4M3 [out, in],
//     P.weight_scale F32 [out, 1] | [1], static: P.input_scale F32 [1]
//   gptq: P.qweight I32 [in*bits/32, out], P.qzeros I32 [groups, out*bits/32] (zero - 1),
//     P.scales F16 [groups, out], P.g_idx I32 [in]
//   awq: P.qweight I32 [in, out/8], P.qzeros I32 [groups, out/8] (nibble order 0 2 4 6 1 3 5 7),
//     P.scales F16 [groups, out]
// Dense tensors are written under their own name and dtype.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "tensor/tensor_map.h"

namespace lowbit::io {

enum class HfQuantLayout { compressed_tensors, gptq, awq };

// "compressed-tensors", "gptq", "awq" (the quant_method of quantization_config).
std::string hf_quant_layout_name(HfQuantLayout layout);

// Throws InvalidArgument, one line naming the tensor and the nearest format that would work,
// when a tensor of `tensors` cannot be written in `layout` exactly. Tensors without buffers
// (a plan: format and shape only) are checked for everything but their zero-point values.
void check_hf_quant_exportable(HfQuantLayout layout, const TensorMap& tensors);

// Writes `dir` atomically (same rules as write_checkpoint: new or empty, or with `replace` an
// existing directory of the same layout). `config` is the HF config; its quantization_config
// is replaced. With lowbit_rope_interleaved true, q/k rows are permuted to HF order
// (rope_tensors_to_half_split) and the key is dropped, so any HF engine rotates them right.
void write_hf_quantized(const std::filesystem::path& dir, HfQuantLayout layout,
                        const nlohmann::json& config, const TensorMap& tensors,
                        const std::function<void(const std::filesystem::path&)>& extra_files = {},
                        bool replace = false);

// Adjacent-pair RoPE q/k rows (GGUF, llama2.c: lowbit_rope_interleaved) -> HF half-split
// order: within each head of hd rows, row i comes from row 2i and row hd/2 + i from row 2i + 1.
// Whole rows of codes, scales and zero-points move, so the values are exact.
QuantizedTensor rope_rows_to_half_split(const QuantizedTensor& t, int64_t heads,
                                        const std::string& name);
// Every q_proj / k_proj weight and bias of `tensors` so permuted (heads from `config`).
TensorMap rope_tensors_to_half_split(const nlohmann::json& config, const TensorMap& tensors);

// The layout of dir when its config.json has a quantization_config whose quant_method is one
// of the three, else nullopt (also when config.json is missing or invalid).
std::optional<HfQuantLayout> detect_hf_quantized(const std::filesystem::path& dir);

struct HfQuantized {
  HfQuantLayout layout = HfQuantLayout::compressed_tensors;
  nlohmann::json config;  // without quantization_config
  nlohmann::json quantization_config;
  TensorMap tensors;  // lowbit tensors under HF names (P.weight), natural name order
};

// Reads a directory written by write_hf_quantized (or by the tools these layouts come from,
// within the same subset). Throws FormatError naming the file and tensor on any
// inconsistency, Unsupported for a layout feature lowbit does not map (act-order g_idx,
// regex targets, ...).
HfQuantized read_hf_quantized(const std::filesystem::path& dir);

}  // namespace lowbit::io
