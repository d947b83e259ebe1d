// SPDX-License-Identifier: MIT
#include "testing/kernel_cases.h"

#include <random>

namespace lowbit::testing {

std::vector<kernels::Isa> isas() {
  using kernels::Isa;
  std::vector<Isa> out{Isa::scalar};
  if (kernels::detect_isa() >= Isa::avx2) out.push_back(Isa::avx2);
  if (kernels::detect_isa() >= Isa::avx512) out.push_back(Isa::avx512);
  return out;
}

std::vector<float> normal_values(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& e : v) e = normal(rng);
  return v;
}

}  // namespace lowbit::testing
