// SPDX-License-Identifier: MIT
// Deterministic synthetic Llama models from a fixed seed, for tests, benchmarks and the demo:
// random weights of any Llama shape, with a handful of residual channels amplified by the
// norms so that linear-layer inputs carry activation outliers, as trained LLMs' do.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "tensor/tensor_map.h"

namespace lowbit::ptq {

struct SyntheticSpec {
  int64_t dim = 256;
  int64_t hidden_dim = 768;
  int64_t n_layers = 4;
  int64_t n_heads = 8;
  int64_t n_kv_heads = 4;
  int64_t vocab_size = 2048;
  int64_t max_seq_len = 1024;
  bool tie_embeddings = false;
  bool qkv_bias = false;  // q/k/v projection biases (Qwen2 style)
  uint64_t seed = 1234;
  int64_t outlier_channels = 4;  // residual channels whose norm gain is outlier_gain
  // The gains below were tuned so that KL divergences against f32 fall in the ranges trained
  // models show (bf16 ~1e-5, int8 ~1e-4, int4 g128 ~3e-2, int2 ~0.5 nats): random weights with
  // larger gains are chaotic and exaggerate every quantization error.
  float outlier_gain = 8.0f;
  // Trained LLMs carry activation outliers far larger than their effect on the output: the
  // weights reading those channels are small. The outlier channels' norm gain is multiplied by
  // this and the q/k/v and gate/up columns reading them are divided by it, so the model
  // computes the same function while its linear inputs carry outliers this much larger.
  float outlier_activation = 1.0f;
  float logit_scale = 2.5f;  // std of a logit for a unit-RMS final hidden state
  float qk_gain = 0.5f;      // scales q/k projections (attention sharpness)
  float writer_gain = 0.3f;  // scales o/down projections (residual growth)
};

// Named shapes: "demo" (about 4.6M parameters), "tiny" (2 layers, dim 64), "tinyllama-1.1b"
// (TinyLlama-1.1B's shape: dim 2048, 22 layers, 32 heads, 4 KV heads, FFN 5632, vocab 32000).
SyntheticSpec synthetic_preset(const std::string& name);

struct SyntheticModel {
  nlohmann::json config;       // HF config.json
  TensorMap tensors;           // f32, HF names
  std::string tokenizer_json;  // a Llama-2-style tokenizer.json of vocab_size tokens
};

// Same spec and seed give bit-identical weights on any machine and thread count.
SyntheticModel make_synthetic_model(const SyntheticSpec& spec);

// Writes an HF-style directory (config.json, model.safetensors, tokenizer.json) atomically.
// An existing `dir` must be an empty directory, or (with `replace`) a synthetic model written
// before; anything else is refused with InvalidArgument.
void write_hf_model(const std::filesystem::path& dir, const SyntheticModel& model,
                    bool replace = false);

// True when `dir` holds a model written by write_hf_model (its config.json carries the
// "lowbit_synthetic" block and no "quantization" block).
bool is_synthetic_model_dir(const std::filesystem::path& dir);

}  // namespace lowbit::ptq
