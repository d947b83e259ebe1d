// SPDX-License-Identifier: MIT
// Next-token sampling: greedy at temperature 0, otherwise softmax(logits / T) sampled with a
// seeded generator (same seed, same tokens).
#pragma once

#include <cstdint>
#include <random>

namespace lowbit::model {

class Sampler {
 public:
  Sampler(float temperature, uint64_t seed) : temperature_(temperature), rng_(seed) {}
  // Picks a token from logits[vocab] (the buffer is used as scratch).
  int32_t sample(float* logits, int64_t vocab);

 private:
  float temperature_;
  std::mt19937_64 rng_;
};

// Index of the largest logit (the first one on ties).
int32_t argmax(const float* logits, int64_t n);

}  // namespace lowbit::model
