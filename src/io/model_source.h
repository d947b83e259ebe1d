// SPDX-License-Identifier: MIT
// ModelSource: what any model file yields: an HF-style config, HF-named tensors and a tokenizer.
// Every reader (HF directory, GGUF, llama2.c, lowbit checkpoint) translates into this form,
// so the model layer parses exactly one config vocabulary.
#pragma once

#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "io/tokenizer.h"
#include "tensor/tensor_map.h"

namespace lowbit {

// How one tensor is stored in a file whose tensors lowbit converts at load (GGUF).
struct StoredTensor {
  std::string type;       // the file's type name: the ggml type for GGUF ("Q4_1")
  size_t bytes = 0;       // bytes in the file
  std::string loaded_as;  // "borrowed", "packed int4 g32 sym", "dequantized to f32", ...
};

struct ModelSource {
  // config.json keys: hidden_size, intermediate_size, num_hidden_layers, num_attention_heads,
  // num_key_value_heads, head_dim (optional), vocab_size, max_position_embeddings, rms_norm_eps,
  // rope_theta, rope_scaling (optional, llama3 style), tie_word_embeddings, attention_bias,
  // bos_token_id, eos_token_id, model_type; plus lowbit's own "lowbit_rope_interleaved" (true
  // when q/k use adjacent-pair RoPE, as llama2.c and GGUF "llama" files do).
  nlohmann::json config;
  TensorMap tensors;
  std::shared_ptr<Tokenizer> tokenizer;  // null when none was found or it could not be built
  // Why the model's tokenizer could not be built (an lowbit Error), or null. Loading never
  // fails because of the tokenizer, so commands that do not tokenize (inspect, quantize) still
  // work; commands that do rethrow this error.
  std::exception_ptr tokenizer_error;
  std::string format;  // "hf", "gguf", "llama2c", "lowbit", "compressed-tensors", "gptq", "awq"
  std::filesystem::path path;
  // The quantization block of a lowbit checkpoint ("scheme", ...); null otherwise.
  nlohmann::json quantization;
  // Per HF tensor name, how the file stored it (GGUF); empty for sources whose tensors are the
  // stored form (HF, llama2.c, lowbit checkpoints).
  std::map<std::string, StoredTensor> stored;
};

// Opens `path`: an HF directory (config.json + safetensors + tokenizer.json), a lowbit
// checkpoint directory, a .gguf file, or a llama2.c .bin (tokenizer.bin/tok*.bin found beside
// it, or given). Throws FormatError / InvalidArgument with a one-line message naming the file.
// With load_tokenizer false no tokenizer is read (source.tokenizer stays null): for commands
// that only look at weights, so an unsupported vocabulary does not stop them.
ModelSource load_model_source(const std::filesystem::path& path,
                              const std::optional<std::filesystem::path>& tokenizer_path = {},
                              bool load_tokenizer = true);

// Reads only the config (no weights): HF config.json, GGUF header or llama2.c header.
nlohmann::json load_model_config(const std::filesystem::path& path);

}  // namespace lowbit
