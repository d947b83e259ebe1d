// SPDX-License-Identifier: MIT
// Evaluates many schemes on the same windows of one model: the base model runs once (its
// log-probabilities are kept when they fit the memory budget, else it is re-run beside each
// scheme), then each scheme is quantized, scored against it and dropped. Shared by
// `lowbit sweep` and `lowbit demo`.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/perplexity.h"
#include "io/model_source.h"
#include "kernels/exec_context.h"
#include "model/llama_model.h"
#include "ptq/quantize_model.h"
#include "quant/scheme.h"

namespace lowbit::cli {

struct SweepRow {
  std::string scheme;               // "base" for the model as loaded
  double bits_per_weight = 0;       // over the block linears
  double file_bits_per_weight = 0;  // over every tensor
  size_t bytes = 0;                 // stored bytes of every tensor
  eval::EvalResult eval;
  double quantize_seconds = 0;
};

struct SweepSetup {
  const ModelSource* source = nullptr;
  const model::LlamaModel* base = nullptr;  // built from source
  std::span<const int32_t> tokens;
  int32_t bos_id = -1;
  eval::EvalOptions options;
  std::optional<quant::Scheme> head, embed;   // applied with every scheme
  std::vector<ptq::TensorRule> rules;         // likewise (--tensor-type)
  size_t reference_budget = size_t{8} << 30;  // bytes of base log-probabilities kept in memory
  // Quantizes the source for one row; unset: ptq::quantize_model (data-free schemes only).
  std::function<ptq::QuantizedModel(const ptq::QuantizeOptions&)> quantize;
};

// The base row first, then one row per scheme, in order; `on_row` sees each as it is done and
// may add figures to the model it is handed (e.g. a decode speed).
std::vector<SweepRow> run_sweep(
    const SweepSetup& setup, const std::vector<std::string>& schemes, kernels::ExecContext& ctx,
    const std::function<void(SweepRow&, const model::LlamaModel&)>& on_row = {});

nlohmann::json sweep_row_json(const SweepRow& row);

}  // namespace lowbit::cli
