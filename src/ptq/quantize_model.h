// SPDX-License-Identifier: MIT
// Applies a scheme to a model: the linear layers of every block are quantized, the embedding,
// output head and norms keep their stored format. Data-free algorithms (RTN) only for now; the
// calibration driver for GPTQ/AWQ/SmoothQuant will sit beside this file.
#pragma once

#include <functional>
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
  double linear_bits_per_weight = 0;  // stored bits / weights over the quantized linears
};

// Quantizes `source`'s linear layers with `scheme`. Deterministic at any thread count.
QuantizedModel quantize_model(const ModelSource& source, const quant::Scheme& scheme,
                              kernels::ExecContext& ctx,
                              const std::function<void(const QuantizeProgress&)>& progress = {});

}  // namespace lowbit::ptq
