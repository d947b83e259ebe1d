// SPDX-License-Identifier: MIT
// The size and shape of the model to advise on: exact parameter counts from a config, or a
// nominal count (--params 70B) with the layer/head geometry of a built-in shape preset.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/llama_config.h"

namespace lowbit::advisor {

// One linear weight of a block: [rows = out_features, cols = in_features].
struct LinearShape {
  std::string name;
  int64_t rows = 0;
  int64_t cols = 0;
};

struct ModelShape {
  std::string name;    // "config.json", "llama2-70b", ...
  std::string source;  // how the shape was obtained, one line for the report
  // The geometry: layers, heads, widths (exact for --model and --shape; for --params alone the
  // nearest preset's, see kv_geometry_exact).
  model::LlamaConfig config;
  int64_t total_params = 0;
  int64_t linear_params = 0;  // in the seven linear layers of each block (what schemes quantize)
  int other_bits = 16;        // stored width of the rest: embeddings, output head, norms, biases
  bool kv_geometry_exact = true;

  int64_t other_params() const { return total_params - linear_params; }
  // The seven linear weights of one block.
  std::vector<LinearShape> block_linears() const;
};

// The built-in shape presets (HF config.json values of published models), in display order.
struct ShapePreset {
  std::string name;         // "llama2-70b"
  std::string description;  // "Llama-2-70B (GQA 8 KV heads)"
  nlohmann::json config;    // HF config.json keys
};
const std::vector<ShapePreset>& shape_presets();
// Throws InvalidArgument "--shape: unknown shape 'x'; known: ..." .
const ShapePreset& find_shape_preset(std::string_view name);

// Parses "70B", "6.74b", "350M", "1.5T", "7e9" or "7000000000"; throws InvalidArgument naming
// --params for anything else or a count that is not positive.
int64_t parse_param_count(std::string_view text);

// From an HF-style config (as load_model_config returns); `label` (a path) prefixes errors.
// Uses torch_dtype for the width of the layers that stay unquantized (16 bits when absent).
ModelShape model_from_config(const nlohmann::json& config, std::string_view label);

// From a preset alone: exact counts of that published model.
ModelShape model_from_preset(std::string_view preset);

// A nominal count with an optional preset: the total is `params`, split into linear weights
// and the rest in the preset's proportion. Without a preset the nearest one by parameter count
// supplies the geometry, and kv_geometry_exact is false.
ModelShape model_from_params(int64_t params, std::string_view preset = {});

}  // namespace lowbit::advisor
