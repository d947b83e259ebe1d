// SPDX-License-Identifier: MIT
// Synthetic Llama weights from a counter-based generator.
#include "ptq/synthetic_model.h"

#include <cmath>
#include <numbers>
#include <vector>

#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "io/synthetic_tokenizer.h"
#include "model/llama_config.h"
#include "model/llama_weights.h"
#include "util/atomic_file.h"
#include "util/check.h"
#include "util/splitmix.h"

namespace lowbit::ptq {
namespace {

// splitmix64: a counter-based generator, so every value depends only on (seed, stream, index)
// and generation order or thread count cannot change the weights.
uint64_t mix(uint64_t x) { return splitmix64(x); }

double uniform(uint64_t bits) { return (static_cast<double>(bits >> 11) + 0.5) * 0x1.0p-53; }

// Normal(0, std) values for stream `stream`, by Box-Muller on counter pairs.
std::vector<float> normal(uint64_t seed, uint64_t stream, int64_t n, double std_dev) {
  std::vector<float> out(static_cast<size_t>(n));
  const uint64_t base = mix(seed ^ mix(stream));
  for (int64_t i = 0; i < n; i += 2) {
    const double u1 = uniform(mix(base + 2 * static_cast<uint64_t>(i)));
    const double u2 = uniform(mix(base + 2 * static_cast<uint64_t>(i) + 1));
    const double r = std::sqrt(-2.0 * std::log(u1)) * std_dev;
    out[static_cast<size_t>(i)] = static_cast<float>(r * std::cos(2 * std::numbers::pi * u2));
    if (i + 1 < n)
      out[static_cast<size_t>(i + 1)] = static_cast<float>(r * std::sin(2 * std::numbers::pi * u2));
  }
  return out;
}

QuantizedTensor dense(const std::vector<float>& v, Shape shape) {
  return QuantizedTensor::from_f32(v.data(), std::move(shape));
}

}  // namespace

SyntheticSpec synthetic_preset(const std::string& name) {
  SyntheticSpec s;
  if (name == "demo") {
    s.outlier_activation = 4.0f;  // input outliers ~30x the typical channel, as in trained LLMs
    return s;
  }
  if (name == "tiny") {
    s.dim = 64;
    s.hidden_dim = 176;
    s.n_layers = 2;
    s.n_heads = 4;
    s.n_kv_heads = 2;
    s.vocab_size = 512;
    s.max_seq_len = 256;
    return s;
  }
  if (name == "tinyllama-1.1b") {
    s.dim = 2048;
    s.hidden_dim = 5632;
    s.n_layers = 22;
    s.n_heads = 32;
    s.n_kv_heads = 4;
    s.vocab_size = 32000;
    s.max_seq_len = 2048;
    return s;
  }
  if (name == "smollm2-135m") {  // SmolLM2-135M's shape (GQA 9/3, tied embeddings)
    s.dim = 576;
    s.hidden_dim = 1536;
    s.n_layers = 30;
    s.n_heads = 9;
    s.n_kv_heads = 3;
    s.vocab_size = 49152;
    s.max_seq_len = 8192;
    s.tie_embeddings = true;
    return s;
  }
  throw InvalidArgument(
      concat("unknown synthetic preset '", name, "' (demo, tiny, smollm2-135m, tinyllama-1.1b)"));
}

SyntheticModel make_synthetic_model(const SyntheticSpec& s) {
  LB_CHECK_ARG(s.dim > 0 && s.n_heads > 0 && s.dim % s.n_heads == 0,
               "synthetic model: dim must be a positive multiple of heads");
  LB_CHECK_ARG(s.n_kv_heads > 0 && s.n_heads % s.n_kv_heads == 0,
               "synthetic model: heads must be a multiple of kv heads");
  LB_CHECK_ARG((s.dim / s.n_heads) % 2 == 0, "synthetic model: head dimension must be even");
  LB_CHECK_ARG(s.vocab_size >= 259 && s.hidden_dim > 0 && s.n_layers > 0,
               "synthetic model: vocab must be >= 259 (specials + bytes)");
  model::LlamaConfig c;
  c.dim = s.dim;
  c.hidden_dim = s.hidden_dim;
  c.n_layers = s.n_layers;
  c.n_heads = s.n_heads;
  c.n_kv_heads = s.n_kv_heads;
  c.head_dim = s.dim / s.n_heads;
  c.vocab_size = s.vocab_size;
  c.max_seq_len = s.max_seq_len;
  c.tie_embeddings = s.tie_embeddings;
  c.qkv_bias = s.qkv_bias;
  SyntheticModel m;
  m.config = c.to_json();
  m.config["lowbit_synthetic"] = {{"seed", s.seed},
                                  {"outlier_channels", s.outlier_channels},
                                  {"outlier_gain", s.outlier_gain},
                                  {"outlier_activation", s.outlier_activation}};
  // The residual channels planted as outliers, spread over the width.
  const auto outlier_channel = [&](int64_t i) { return (i * 7919 + 13) % s.dim; };

  uint64_t stream = 0;
  auto gaussian = [&](int64_t n, double std_dev) { return normal(s.seed, ++stream, n, std_dev); };
  // Norm gains: about 1, with the outlier channels (spread over the width) amplified.
  auto norm_gain = [&]() {
    std::vector<float> g = gaussian(s.dim, 0.05);
    for (float& v : g) v += 1.0f;
    for (int64_t i = 0; i < s.outlier_channels; ++i)
      g[static_cast<size_t>(outlier_channel(i))] *= s.outlier_gain * s.outlier_activation;
    return g;
  };
  m.tensors.add("model.embed_tokens.weight",
                dense(gaussian(s.vocab_size * s.dim, 1.0), {s.vocab_size, s.dim}));
  model::for_each_linear(c, [&](const std::string& name, const Shape& shape) {
    // Residual-stream writers (o, down) are scaled down so activations stay bounded in depth.
    const bool writer =
        name.find("o_proj") != std::string::npos || name.find("down_proj") != std::string::npos;
    const bool qk =
        name.find("q_proj") != std::string::npos || name.find("k_proj") != std::string::npos;
    const double gain = writer ? s.writer_gain : qk ? s.qk_gain : 1.0;
    const double std_dev = gain / std::sqrt(static_cast<double>(shape[1]));
    const int64_t layer = std::stoll(name.substr(13));  // "model.layers.N."
    if (name.find("q_proj") != std::string::npos) {
      m.tensors.add(concat("model.layers.", layer, ".input_layernorm.weight"),
                    dense(norm_gain(), {s.dim}));
      m.tensors.add(concat("model.layers.", layer, ".post_attention_layernorm.weight"),
                    dense(norm_gain(), {s.dim}));
    }
    std::vector<float> w = gaussian(numel(shape), std_dev);
    const bool qkv = qk || name.find("v_proj") != std::string::npos;
    const bool reads_norm = qkv || name.find("gate_proj") != std::string::npos ||
                            name.find("up_proj") != std::string::npos;
    if (reads_norm && s.outlier_activation != 1.0f)
      for (int64_t r = 0; r < shape[0]; ++r)
        for (int64_t i = 0; i < s.outlier_channels; ++i)
          w[static_cast<size_t>(r * shape[1] + outlier_channel(i))] /= s.outlier_activation;
    m.tensors.add(name, dense(std::move(w), shape));
    if (s.qkv_bias && qkv) {
      std::string bias = name;
      bias.replace(bias.size() - 6, 6, "bias");  // "...proj.weight" -> "...proj.bias"
      m.tensors.add(bias, dense(gaussian(shape[0], 0.1), {shape[0]}));
    }
  });
  std::vector<float> ones(static_cast<size_t>(s.dim), 1.0f);
  m.tensors.add("model.norm.weight", dense(ones, {s.dim}));
  if (!s.tie_embeddings)
    m.tensors.add(
        "lm_head.weight",
        dense(gaussian(s.vocab_size * s.dim, s.logit_scale / std::sqrt(static_cast<double>(s.dim))),
              {s.vocab_size, s.dim}));
  m.tokenizer_json = make_synthetic_tokenizer_json(static_cast<int32_t>(s.vocab_size), s.seed);
  return m;
}

bool is_synthetic_model_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(dir / "config.json", ec)) return false;
  try {
    // A checkpoint quantized from a synthetic model keeps the marker but is not one.
    const nlohmann::json config = io::read_config_json(dir / "config.json");
    return config.contains("lowbit_synthetic") && !config.contains("quantization");
  } catch (const Error&) {
    return false;
  }
}

void write_hf_model(const std::filesystem::path& dir, const SyntheticModel& model, bool replace) {
  std::function<bool(const std::filesystem::path&)> may_replace;
  if (replace) may_replace = is_synthetic_model_dir;
  write_directory_atomic(
      dir,
      [&](const std::filesystem::path& tmp) {
        write_file_atomic(tmp / "config.json", model.config.dump(2) + "\n");
        write_file_atomic(tmp / "tokenizer.json", model.tokenizer_json);
        std::vector<io::SafetensorsWriteEntry> entries;
        for (const std::string& name : model.tensors.names()) {
          const QuantizedTensor& t = model.tensors.at(name);
          entries.push_back({name, DType::f32, t.shape, t.codes.bytes()});
        }
        io::write_safetensors(tmp / "model.safetensors", std::move(entries));
      },
      may_replace);
}

}  // namespace lowbit::ptq
