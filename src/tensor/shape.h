// SPDX-License-Identifier: MIT
// Shape: dimensions outermost first (PyTorch order). A weight is [out_features, in_features].
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lowbit {

using Shape = std::vector<int64_t>;

inline int64_t numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

inline std::string shape_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  s += "]";
  return s;
}

}  // namespace lowbit
