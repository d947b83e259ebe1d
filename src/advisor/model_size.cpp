// SPDX-License-Identifier: MIT
// Shape presets, --params parsing and exact parameter counts from configs.
#include "advisor/model_size.h"

#include <charconv>
#include <cmath>

#include "util/check.h"

namespace lowbit::advisor {
namespace {

using nlohmann::json;

json llama_config(int64_t dim, int64_t hidden, int64_t layers, int64_t heads, int64_t kv_heads,
                  int64_t vocab, int64_t max_positions, bool tied = false) {
  return {{"model_type", "llama"},        {"hidden_size", dim},
          {"intermediate_size", hidden},  {"num_hidden_layers", layers},
          {"num_attention_heads", heads}, {"num_key_value_heads", kv_heads},
          {"vocab_size", vocab},          {"max_position_embeddings", max_positions},
          {"tie_word_embeddings", tied},  {"torch_dtype", "bfloat16"}};
}

ModelShape from_llama_config(const model::LlamaConfig& cfg, std::string name, std::string source) {
  ModelShape m;
  m.name = std::move(name);
  m.source = std::move(source);
  m.config = cfg;
  m.total_params = cfg.parameter_count();
  m.linear_params = cfg.linear_parameter_count();
  return m;
}

}  // namespace

std::vector<LinearShape> ModelShape::block_linears() const {
  const auto& c = config;
  return {{"q_proj", c.q_dim(), c.dim},       {"k_proj", c.kv_dim(), c.dim},
          {"v_proj", c.kv_dim(), c.dim},      {"o_proj", c.dim, c.q_dim()},
          {"gate_proj", c.hidden_dim, c.dim}, {"up_proj", c.hidden_dim, c.dim},
          {"down_proj", c.dim, c.hidden_dim}};
}

const std::vector<ShapePreset>& shape_presets() {
  static const std::vector<ShapePreset> presets = [] {
    std::vector<ShapePreset> p = {
        {"llama3.2-1b", "Llama-3.2-1B (tied embeddings, GQA 8 KV heads)",
         llama_config(2048, 8192, 16, 32, 8, 128256, 131072, true)},
        {"llama3.2-3b", "Llama-3.2-3B (tied embeddings, GQA 8 KV heads)",
         llama_config(3072, 8192, 28, 24, 8, 128256, 131072, true)},
        {"llama2-7b", "Llama-2-7B (multi-head attention)",
         llama_config(4096, 11008, 32, 32, 32, 32000, 4096)},
        {"mistral-7b", "Mistral-7B-v0.1 (GQA 8 KV heads)",
         llama_config(4096, 14336, 32, 32, 8, 32000, 32768)},
        {"qwen2-7b", "Qwen2-7B (GQA 4 KV heads, q/k/v bias)",
         llama_config(3584, 18944, 28, 28, 4, 152064, 32768)},
        {"llama3-8b", "Llama-3-8B / 3.1-8B (GQA 8 KV heads)",
         llama_config(4096, 14336, 32, 32, 8, 128256, 8192)},
        {"llama2-13b", "Llama-2-13B (multi-head attention)",
         llama_config(5120, 13824, 40, 40, 40, 32000, 4096)},
        {"llama2-70b", "Llama-2-70B (GQA 8 KV heads)",
         llama_config(8192, 28672, 80, 64, 8, 32000, 4096)},
        {"llama3-70b", "Llama-3-70B / 3.1-70B (GQA 8 KV heads)",
         llama_config(8192, 28672, 80, 64, 8, 128256, 8192)},
        {"llama3.1-405b", "Llama-3.1-405B (GQA 8 KV heads)",
         llama_config(16384, 53248, 126, 128, 8, 128256, 131072)},
    };
    for (auto& preset : p)
      if (preset.name == "qwen2-7b") preset.config["model_type"] = "qwen2";
    return p;
  }();
  return presets;
}

const ShapePreset& find_shape_preset(std::string_view name) {
  std::string known;
  for (const auto& p : shape_presets()) {
    if (p.name == name) return p;
    known += (known.empty() ? "" : ", ") + p.name;
  }
  throw InvalidArgument(concat("--shape: unknown shape '", name, "'; known: ", known));
}

int64_t parse_param_count(std::string_view text) {
  const std::string shown(text);
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  double scale = 1;
  if (!text.empty()) {
    switch (text.back()) {
      case 'k':
      case 'K':
        scale = 1e3;
        break;
      case 'm':
      case 'M':
        scale = 1e6;
        break;
      case 'b':
      case 'B':
      case 'g':
      case 'G':
        scale = 1e9;
        break;
      case 't':
      case 'T':
        scale = 1e12;
        break;
      default:
        break;
    }
    if (scale != 1) text.remove_suffix(1);
  }
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  LB_CHECK_ARG(!text.empty() && ec == std::errc() && end == text.data() + text.size(),
               "--params: expected a count like 70B, 6.74B, 350M or 7000000000, got '", shown, "'");
  const double count = value * scale;
  LB_CHECK_ARG(std::isfinite(count) && count >= 1 && count <= 1e15,
               "--params: the parameter count must be positive (at most 1000T), got '", shown, "'");
  return std::llround(count);
}

ModelShape model_from_config(const json& config, std::string_view label) {
  model::LlamaConfig cfg;
  try {
    cfg = model::LlamaConfig::from_json(config);
  } catch (const FormatError& e) {
    throw FormatError(concat(label, ": ", e.what()));
  } catch (const Unsupported& e) {
    throw Unsupported(concat(label, ": ", e.what()));
  }
  ModelShape m = from_llama_config(cfg, std::string(label), concat("config of ", label));
  if (config.contains("torch_dtype") && config.at("torch_dtype").is_string())
    m.other_bits = config.at("torch_dtype").get<std::string>() == "float32" ? 32 : 16;
  return m;
}

ModelShape model_from_preset(std::string_view preset) {
  const ShapePreset& p = find_shape_preset(preset);
  return from_llama_config(model::LlamaConfig::from_json(p.config), p.name,
                           concat("--shape ", p.name, ": ", p.description));
}

ModelShape model_from_params(int64_t params, std::string_view preset) {
  LB_CHECK_ARG(params > 0, "--params must be positive, got ", params);
  const ShapePreset* chosen = nullptr;
  if (!preset.empty()) {
    chosen = &find_shape_preset(preset);
  } else {
    double best = 0;
    for (const auto& p : shape_presets()) {
      const auto n = static_cast<double>(model::LlamaConfig::from_json(p.config).parameter_count());
      const double distance = std::abs(std::log(static_cast<double>(params) / n));
      if (chosen == nullptr || distance < best) {
        chosen = &p;
        best = distance;
      }
    }
  }
  ModelShape m = model_from_preset(chosen->name);
  const double linear_fraction =
      static_cast<double>(m.linear_params) / static_cast<double>(m.total_params);
  m.total_params = params;
  m.linear_params = std::llround(static_cast<double>(params) * linear_fraction);
  const std::string count = concat(static_cast<double>(params) / 1e9, "B");
  if (preset.empty()) {
    m.kv_geometry_exact = false;
    m.source = concat("--params ", count, "; layers, heads and the linear/other split from ",
                      chosen->name, " (nearest preset; pass --shape or --model to be exact)");
  } else {
    m.source = concat("--params ", count, " with the geometry of --shape ", chosen->name);
  }
  m.name = concat(count, " (", chosen->name, " shape)");
  return m;
}

}  // namespace lowbit::advisor
