// SPDX-License-Identifier: MIT
// SplitMix64 (Steele, Lea, Flood 2014): a tiny generator with a fixed definition, so seeded
// values (calibration windows, synthetic models, rotation signs) are the same on every
// platform and standard library (std::uniform_int_distribution is not specified exactly).
#pragma once

#include <cstdint>

namespace lowbit {

// The mix of x + the golden gamma; as a counter-based generator, value i is
// splitmix64(seed + i * gamma).
inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// The next value of the sequential generator whose state is `state` (advanced).
inline uint64_t splitmix64_next(uint64_t& state) {
  const uint64_t value = splitmix64(state);
  state += 0x9E3779B97F4A7C15ull;
  return value;
}

}  // namespace lowbit
