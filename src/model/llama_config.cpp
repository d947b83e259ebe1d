// SPDX-License-Identifier: MIT
// LlamaConfig parsing, parameter counting and RoPE frequencies.
#include "model/llama_config.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <type_traits>

#include "util/check.h"

namespace lowbit::model {
namespace {

using nlohmann::json;

int64_t required_int(const json& c, const char* key) {
  LB_CHECK_FORMAT(c.contains(key), "config: missing field '", key, "'");
  const json& v = c.at(key);
  LB_CHECK_FORMAT(v.is_number_integer() && v.get<int64_t>() > 0, "config: field '", key,
                  "' must be a positive integer");
  return v.get<int64_t>();
}

// An integer field's value as T. json::get<T>() would wrap an out-of-range integer and convert
// a float with undefined behaviour (1e300 into an int), so both are refused here.
template <typename T>
T integer_value(const json& v, const char* key) {
  const bool in_range =
      v.is_number_unsigned()
          ? v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max())
          : v.is_number_integer() && v.get<int64_t>() >= std::numeric_limits<T>::min() &&
                v.get<int64_t>() <= std::numeric_limits<T>::max();
  LB_CHECK_FORMAT(in_range, "config: field '", key, "' must be an integer in [",
                  std::numeric_limits<T>::min(), ", ", std::numeric_limits<T>::max(), "]");
  return static_cast<T>(v.get<int64_t>());
}

template <typename T>
T optional_value(const json& c, const char* key, T fallback) {
  if (!c.contains(key) || c.at(key).is_null()) return fallback;
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    return integer_value<T>(c.at(key), key);
  } else {
    try {
      return c.at(key).get<T>();
    } catch (const json::exception&) {
      throw FormatError(concat("config: field '", key, "' has the wrong type"));
    }
  }
}

}  // namespace

LlamaConfig LlamaConfig::from_json(const json& c) {
  LB_CHECK_FORMAT(c.is_object(), "config: not a JSON object");
  LlamaConfig cfg;
  cfg.model_type = optional_value<std::string>(c, "model_type", "llama");
  cfg.dim = required_int(c, "hidden_size");
  cfg.hidden_dim = required_int(c, "intermediate_size");
  cfg.n_layers = required_int(c, "num_hidden_layers");
  cfg.n_heads = required_int(c, "num_attention_heads");
  cfg.n_kv_heads = c.contains("num_key_value_heads") && !c.at("num_key_value_heads").is_null()
                       ? required_int(c, "num_key_value_heads")
                       : cfg.n_heads;
  cfg.vocab_size = required_int(c, "vocab_size");
  cfg.head_dim = c.contains("head_dim") && !c.at("head_dim").is_null() ? required_int(c, "head_dim")
                                                                       : cfg.dim / cfg.n_heads;
  cfg.max_seq_len = optional_value<int64_t>(c, "max_position_embeddings", 2048);
  cfg.norm_eps = optional_value<double>(c, "rms_norm_eps", 1e-5);
  cfg.rope_theta = optional_value<double>(c, "rope_theta", 10000.0);
  cfg.rope_interleaved = optional_value<bool>(c, "lowbit_rope_interleaved", false);
  cfg.tie_embeddings = optional_value<bool>(c, "tie_word_embeddings", false);
  // qwen2 has q/k/v bias without saying so in config.json.
  cfg.qkv_bias = optional_value<bool>(c, "attention_bias", cfg.model_type == "qwen2");
  cfg.bos_id = optional_value<int32_t>(c, "bos_token_id", 1);
  if (c.contains("eos_token_id") && c.at("eos_token_id").is_array()) {
    LB_CHECK_FORMAT(!c.at("eos_token_id").empty(), "config: field 'eos_token_id' is an empty list");
    cfg.eos_id = integer_value<int32_t>(c.at("eos_token_id").at(0), "eos_token_id");
  } else {
    cfg.eos_id = optional_value<int32_t>(c, "eos_token_id", 2);
  }
  if (c.contains("rope_scaling") && c.at("rope_scaling").is_object()) {
    const json& rs = c.at("rope_scaling");
    cfg.rope_scaling.type =
        optional_value<std::string>(rs, "rope_type", optional_value<std::string>(rs, "type", ""));
    cfg.rope_scaling.factor = optional_value<double>(rs, "factor", 1.0);
    cfg.rope_scaling.low_freq_factor = optional_value<double>(rs, "low_freq_factor", 1.0);
    cfg.rope_scaling.high_freq_factor = optional_value<double>(rs, "high_freq_factor", 4.0);
    cfg.rope_scaling.original_max_position =
        optional_value<int64_t>(rs, "original_max_position_embeddings", 8192);
    LB_CHECK_AS(Unsupported,
                cfg.rope_scaling.type == "llama3" || cfg.rope_scaling.type == "linear" ||
                    cfg.rope_scaling.type == "default",
                "config: rope_scaling type '", cfg.rope_scaling.type, "' is not supported");
    if (cfg.rope_scaling.type == "default") cfg.rope_scaling.type.clear();
  }
  LB_CHECK_FORMAT(cfg.n_heads % cfg.n_kv_heads == 0, "config: num_attention_heads (", cfg.n_heads,
                  ") is not a multiple of num_key_value_heads (", cfg.n_kv_heads, ")");
  LB_CHECK_FORMAT(cfg.head_dim % 2 == 0, "config: head dimension ", cfg.head_dim, " is odd");
  // parameter_count() and every size derived from the config are int64 products; bound them
  // here (in double, whose rounding is far below the margin) so none can overflow.
  const double d = static_cast<double>(cfg.dim), kv = static_cast<double>(cfg.n_kv_heads);
  const double q = static_cast<double>(cfg.n_heads) * static_cast<double>(cfg.head_dim);
  const double per_layer = d * (2 * q + 2 * kv * static_cast<double>(cfg.head_dim) +
                                3 * static_cast<double>(cfg.hidden_dim) + 2) +
                           q + 2 * kv * static_cast<double>(cfg.head_dim);
  const double total = static_cast<double>(cfg.n_layers) * per_layer +
                       2 * static_cast<double>(cfg.vocab_size) * d + d;
  LB_CHECK_FORMAT(total < 1e18, "config: the dimensions give about ", total,
                  " parameters, more than lowbit can count");
  LB_CHECK_FORMAT(cfg.norm_eps > 0 && cfg.rope_theta > 0,
                  "config: rms_norm_eps and rope_theta "
                  "must be positive");
  return cfg;
}

json LlamaConfig::to_json() const {
  json c = {{"model_type", model_type},
            {"architectures", json::array({model_type == "qwen2"     ? "Qwen2ForCausalLM"
                                           : model_type == "mistral" ? "MistralForCausalLM"
                                                                     : "LlamaForCausalLM"})},
            {"hidden_size", dim},
            {"intermediate_size", hidden_dim},
            {"num_hidden_layers", n_layers},
            {"num_attention_heads", n_heads},
            {"num_key_value_heads", n_kv_heads},
            {"head_dim", head_dim},
            {"vocab_size", vocab_size},
            {"max_position_embeddings", max_seq_len},
            {"rms_norm_eps", norm_eps},
            {"rope_theta", rope_theta},
            {"tie_word_embeddings", tie_embeddings},
            {"attention_bias", qkv_bias},
            {"hidden_act", "silu"},
            {"bos_token_id", bos_id},
            {"eos_token_id", eos_id},
            {"lowbit_rope_interleaved", rope_interleaved}};
  if (!rope_scaling.type.empty()) {
    c["rope_scaling"] = {{"rope_type", rope_scaling.type},
                         {"factor", rope_scaling.factor},
                         {"low_freq_factor", rope_scaling.low_freq_factor},
                         {"high_freq_factor", rope_scaling.high_freq_factor},
                         {"original_max_position_embeddings", rope_scaling.original_max_position}};
  }
  return c;
}

int64_t LlamaConfig::linear_parameter_count() const {
  const int64_t attention = dim * q_dim() + 2 * dim * kv_dim() + q_dim() * dim;
  const int64_t mlp = 3 * dim * hidden_dim;
  return n_layers * (attention + mlp);
}

int64_t LlamaConfig::parameter_count() const {
  const int64_t embeddings = vocab_size * dim * (tie_embeddings ? 1 : 2);
  const int64_t norms = n_layers * 2 * dim + dim;
  const int64_t biases = qkv_bias ? n_layers * (q_dim() + 2 * kv_dim()) : 0;
  return embeddings + norms + biases + linear_parameter_count();
}

std::vector<float> LlamaConfig::rope_inv_freq() const {
  const int64_t half = head_dim / 2;
  std::vector<float> inv(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) {
    double f = std::pow(rope_theta, -2.0 * static_cast<double>(i) / static_cast<double>(head_dim));
    if (rope_scaling.type == "linear") {
      f /= rope_scaling.factor;
    } else if (rope_scaling.type == "llama3") {
      // Llama 3.1: long wavelengths are divided by `factor`, short ones kept, and the band
      // between is interpolated smoothly.
      const double old_len = static_cast<double>(rope_scaling.original_max_position);
      const double low_wavelen = old_len / rope_scaling.low_freq_factor;
      const double high_wavelen = old_len / rope_scaling.high_freq_factor;
      const double wavelen = 2.0 * std::numbers::pi / f;
      if (wavelen > low_wavelen) {
        f /= rope_scaling.factor;
      } else if (wavelen >= high_wavelen) {
        const double smooth = (old_len / wavelen - rope_scaling.low_freq_factor) /
                              (rope_scaling.high_freq_factor - rope_scaling.low_freq_factor);
        f = (1.0 - smooth) * f / rope_scaling.factor + smooth * f;
      }
    }
    inv[static_cast<size_t>(i)] = static_cast<float>(f);
  }
  return inv;
}

}  // namespace lowbit::model
