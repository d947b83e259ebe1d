// SPDX-License-Identifier: MIT
// From a ModelSource (any file format) to a runnable LlamaModel, optionally quantized.
#pragma once

#include <memory>

#include "io/model_source.h"
#include "model/llama_model.h"

namespace lowbit::ptq {

// Binds the source's tensors (packed formats stay packed).
std::unique_ptr<model::LlamaModel> build_model(const nlohmann::json& config,
                                               const TensorMap& tensors);

}  // namespace lowbit::ptq
