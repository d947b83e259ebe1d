// SPDX-License-Identifier: MIT
// Applies a scheme to a model: the linear layers of every block are quantized; the output head
// and the token embedding keep their stored format unless a scheme is given for them; norms
// always keep theirs. Data-free algorithms (RTN) only for now; the calibration driver for
// GPTQ/AWQ/SmoothQuant will sit beside this file.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "io/model_source.h"
#include "kernels/exec_context.h"
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

struct QuantizeOptions {
  std::optional<quant::Scheme> linear;  // the block linears (q, k, v, o, gate, up, down)
  std::optional<quant::Scheme> head;    // lm_head.weight; nullopt keeps its stored format
  std::optional<quant::Scheme> embed;   // model.embed_tokens.weight; likewise

  bool empty() const { return !linear && !head && !embed; }
  // "w4g128", "w4g128 head=w8", "w4g128 head=w8 embed=w8": what the output is called.
  std::string name() const;
};

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
