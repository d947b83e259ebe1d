// SPDX-License-Identifier: MIT
#include "testing/synthetic_source.h"

#include "ptq/synthetic_model.h"

namespace lowbit::testing {

ModelSource synthetic_source(const std::string& preset) {
  const ptq::SyntheticModel m = ptq::make_synthetic_model(ptq::synthetic_preset(preset));
  ModelSource source;
  source.config = m.config;
  source.tensors = m.tensors;
  source.format = "hf";
  return source;
}

}  // namespace lowbit::testing
