// SPDX-License-Identifier: MIT
// Applies a scheme to a model: the linear layers of every block are quantized (each by its
// --tensor-type rule, else by the linear scheme); the output head and the token embedding keep
// their stored format unless a scheme is given for them; norms always keep theirs. The
// data-free algorithms (RTN, HQQ, ggml blocks) run here; the calibration driver for
// GPTQ/AWQ/SmoothQuant is ptq/calibrated_quantize.h.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/model_source.h"
#include "kernels/exec_context.h"
#include "model/llama_config.h"
#include "quant/scheme.h"

namespace lowbit::ptq {

struct QuantizeProgress {
  int64_t done = 0, total = 0;
  std::string tensor;
  size_t bytes_before = 0, bytes_after = 0;
};

struct QuantizedModel {
  TensorMap tensors;                  // every tensor of the model, linears quantized
  nlohmann::json quantization;        // the checkpoint's quantization block
  double linear_bits_per_weight = 0;  // stored bits / weights over the block linears
  double file_bits_per_weight = 0;    // stored bits / weights over every tensor
  size_t bytes = 0;                   // stored bytes of every tensor (a tied head once)
};

// A mixed-bit-width rule, llama-quantize's `--tensor-type REGEX=TYPE`: the block linears whose
// name matches `pattern` (an ECMAScript regex searched in the HF name,
// model.layers.3.self_attn.v_proj.weight, or the GGUF one, blk.3.attn_v.weight) get `scheme`.
struct TensorRule {
  std::string pattern;
  quant::Scheme scheme;
  std::shared_ptr<const std::regex> regex;

  // Throws InvalidArgument naming --tensor-type when `pattern` is not a valid regex.
  TensorRule(std::string pattern, quant::Scheme scheme);
  bool matches(const std::string& hf_name) const;
};

struct QuantizeOptions {
  std::optional<quant::Scheme> linear;  // the block linears (q, k, v, o, gate, up, down)
  std::optional<quant::Scheme> head;    // lm_head.weight; nullopt keeps its stored format
  std::optional<quant::Scheme> embed;   // model.embed_tokens.weight; likewise
  std::vector<TensorRule> rules = {};   // per-linear overrides of `linear`; the first match wins
  // When set, what name() calls the linears' schemes instead of listing every rule (a mix
  // planned by sensitivity has one rule per upgraded linear).
  std::string label = {};

  bool empty() const { return !linear && !head && !embed && rules.empty(); }
  // "w4g128", "w4g128 head=w8", "gptq-w3g128 v_proj=gptq-w4g128 head=w8": what the output is
  // called.
  std::string name() const;
  // The scheme of block linear `hf_name`: its first matching rule's, else `linear` (null when
  // there is neither).
  const quant::Scheme* linear_scheme(const std::string& hf_name) const;
  // `linear` and every rule's scheme.
  std::vector<const quant::Scheme*> linear_schemes() const;
  // Throws InvalidArgument when a rule is given without a linear scheme, or a rule matches no
  // block linear of `config`'s model (a misspelt pattern would otherwise change nothing).
  void check_rules(const model::LlamaConfig& config) const;
};

// One weight by a data-free algorithm (rtn, hqq, ggml), with the scheme's activation
// quantization attached. A trellis format's search runs its columns' runs on `pool` when
// given (the caller must not be inside that pool's parallel_for).
QuantizedTensor quantize_data_free(const float* w, int64_t rows, int64_t cols,
                                   const quant::Scheme& scheme, const std::string& name,
                                   ThreadPool* pool = nullptr);
// True for the algorithms quantize_data_free runs.
bool is_data_free(const quant::Scheme& scheme);

// Records `options.rules` in a checkpoint's quantization block: "tensor_types", per rule its
// pattern, scheme, algorithm, format and the linears it took (nothing when there are no rules).
void add_tensor_rules(const QuantizeOptions& options, const model::LlamaConfig& config,
                      nlohmann::json& quantization);

// Quantizes `source` as `options` says (empty options copy every tensor as stored). Tied embeddings
// stay one tensor: --head and --embed then name the same tensor, and giving both with different
// schemes is an InvalidArgument. Deterministic at any thread count.
QuantizedModel quantize_model(const ModelSource& source, const QuantizeOptions& options,
                              kernels::ExecContext& ctx,
                              const std::function<void(const QuantizeProgress&)>& progress = {});

// The linear layers only (head and embedding unchanged).
QuantizedModel quantize_model(const ModelSource& source, const quant::Scheme& scheme,
                              kernels::ExecContext& ctx,
                              const std::function<void(const QuantizeProgress&)>& progress = {});

}  // namespace lowbit::ptq
