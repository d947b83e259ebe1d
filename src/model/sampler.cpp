// SPDX-License-Identifier: MIT
// Greedy and temperature sampling.
#include "model/sampler.h"

#include "kernels/kernels.h"

namespace lowbit::model {

int32_t argmax(const float* logits, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (logits[i] > logits[best]) best = i;
  return static_cast<int32_t>(best);
}

int32_t Sampler::sample(float* logits, int64_t vocab) {
  if (temperature_ <= 0.0f) return argmax(logits, vocab);
  for (int64_t i = 0; i < vocab; ++i) logits[i] /= temperature_;
  kernels::softmax(logits, vocab);
  // Inverse-CDF sampling with a 53-bit uniform draw; generate_canonical is portable and
  // seeded, so the same seed gives the same tokens on every machine.
  const double u = std::generate_canonical<double, 53>(rng_);
  double cdf = 0.0;
  for (int64_t i = 0; i < vocab; ++i) {
    cdf += logits[i];
    if (u < cdf) return static_cast<int32_t>(i);
  }
  return static_cast<int32_t>(vocab - 1);
}

}  // namespace lowbit::model
