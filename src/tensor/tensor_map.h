// SPDX-License-Identifier: MIT
// TensorMap: name -> QuantizedTensor, in insertion order. io produces it, model binds from it,
// checkpoints write it. Names follow Hugging Face Llama conventions
// (model.layers.N.self_attn.q_proj.weight, ...) whatever file they came from.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tensor/quantized_tensor.h"

namespace lowbit {

class TensorMap {
 public:
  // Throws FormatError on a duplicate name.
  void add(const std::string& name, QuantizedTensor tensor);
  // Replaces or adds.
  void set(const std::string& name, QuantizedTensor tensor);
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  // Throws FormatError naming the tensor when it is missing.
  const QuantizedTensor& at(const std::string& name) const;
  QuantizedTensor& at(const std::string& name);
  const std::vector<std::string>& names() const { return names_; }
  size_t size() const { return names_.size(); }
  void erase(const std::string& name);

 private:
  std::vector<std::string> names_;
  std::map<std::string, QuantizedTensor> index_;
};

}  // namespace lowbit
