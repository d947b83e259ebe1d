// SPDX-License-Identifier: MIT
// TensorMap implementation.
#include "tensor/tensor_map.h"

#include <algorithm>

#include "util/check.h"

namespace lowbit {

void TensorMap::add(const std::string& name, QuantizedTensor tensor) {
  LB_CHECK_FORMAT(!contains(name), "duplicate tensor ", name);
  names_.push_back(name);
  index_.emplace(name, std::move(tensor));
}

void TensorMap::set(const std::string& name, QuantizedTensor tensor) {
  if (!contains(name)) names_.push_back(name);
  index_[name] = std::move(tensor);
}

const QuantizedTensor& TensorMap::at(const std::string& name) const {
  auto it = index_.find(name);
  LB_CHECK_FORMAT(it != index_.end(), "missing tensor ", name);
  return it->second;
}

QuantizedTensor& TensorMap::at(const std::string& name) {
  auto it = index_.find(name);
  LB_CHECK_FORMAT(it != index_.end(), "missing tensor ", name);
  return it->second;
}

void TensorMap::erase(const std::string& name) {
  index_.erase(name);
  names_.erase(std::remove(names_.begin(), names_.end(), name), names_.end());
}

}  // namespace lowbit
