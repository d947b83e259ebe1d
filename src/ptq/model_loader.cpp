// SPDX-License-Identifier: MIT
// Model construction from a ModelSource.
#include "ptq/model_loader.h"

namespace lowbit::ptq {

std::unique_ptr<model::LlamaModel> build_model(const nlohmann::json& config,
                                               const TensorMap& tensors) {
  model::LlamaConfig c = model::LlamaConfig::from_json(config);
  model::LlamaWeights w = model::LlamaWeights::bind(c, tensors);
  return std::make_unique<model::LlamaModel>(std::move(c), std::move(w));
}

}  // namespace lowbit::ptq
