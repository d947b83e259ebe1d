// SPDX-License-Identifier: MIT
#include "numerics/rotation.h"

#include <cmath>
#include <numbers>

#include "util/check.h"
#include "util/splitmix.h"

namespace lowbit {
namespace {

// In-place orthonormal Walsh-Hadamard transform of v[0, p), p a power of two.
template <typename T>
void walsh_hadamard(T* v, int64_t p) {
  for (int64_t h = 1; h < p; h *= 2)
    for (int64_t i = 0; i < p; i += 2 * h)
      for (int64_t j = i; j < i + h; ++j) {
        const T a = v[j], b = v[j + h];
        v[j] = a + b;
        v[j + h] = a - b;
      }
  const T norm = static_cast<T>(1.0 / std::sqrt(static_cast<double>(p)));
  for (int64_t i = 0; i < p; ++i) v[i] *= norm;
}

// v[a·p + b] <- sum_a' C[a][a'] v[a'·p + b] (transpose: C[a'][a]) for every b.
template <typename T>
void mix_segments(T* v, int64_t m, int64_t p, const std::vector<double>& c, bool transpose,
                  std::vector<T>& scratch) {
  if (m == 1) return;
  scratch.resize(static_cast<size_t>(m));
  for (int64_t b = 0; b < p; ++b) {
    for (int64_t a = 0; a < m; ++a) {
      double s = 0.0;
      for (int64_t k = 0; k < m; ++k)
        s += (transpose ? c[static_cast<size_t>(k * m + a)] : c[static_cast<size_t>(a * m + k)]) *
             static_cast<double>(v[k * p + b]);
      scratch[static_cast<size_t>(a)] = static_cast<T>(s);
    }
    for (int64_t a = 0; a < m; ++a) v[a * p + b] = scratch[static_cast<size_t>(a)];
  }
}

}  // namespace

InputRotation::InputRotation(int64_t cols, uint64_t seed) : cols_(cols), seed_(seed) {
  LB_CHECK_ARG(cols > 0, "a rotation needs a positive width, got ", cols);
  while (cols % (2 * p_) == 0) p_ *= 2;
  m_ = cols / p_;
  signs_.resize(static_cast<size_t>(cols));
  uint64_t state = seed;
  for (int64_t i = 0; i < cols; i += 64) {
    const uint64_t bits = splitmix64_next(state);
    for (int64_t j = i; j < std::min(cols, i + 64); ++j)
      signs_[static_cast<size_t>(j)] = ((bits >> (j - i)) & 1u) != 0 ? -1.0f : 1.0f;
  }
  dct_.resize(static_cast<size_t>(m_ * m_));
  for (int64_t k = 0; k < m_; ++k)
    for (int64_t i = 0; i < m_; ++i)
      dct_[static_cast<size_t>(k * m_ + i)] =
          std::sqrt((k == 0 ? 1.0 : 2.0) / static_cast<double>(m_)) *
          std::cos(std::numbers::pi * static_cast<double>((2 * i + 1) * k) /
                   static_cast<double>(2 * m_));
}

// R^T·v = K^T·(signs ⊙ v), K^T = C_m^T ⊗ H_p.
template <typename T>
void InputRotation::rotate_one(T* v, std::vector<T>& scratch) const {
  for (int64_t i = 0; i < cols_; ++i) v[i] *= static_cast<T>(signs_[static_cast<size_t>(i)]);
  for (int64_t a = 0; a < m_; ++a) walsh_hadamard(v + a * p_, p_);
  mix_segments(v, m_, p_, dct_, /*transpose=*/true, scratch);
}

// R·v = signs ⊙ (K·v).
template <typename T>
void InputRotation::unrotate_one(T* v, std::vector<T>& scratch) const {
  for (int64_t a = 0; a < m_; ++a) walsh_hadamard(v + a * p_, p_);
  mix_segments(v, m_, p_, dct_, /*transpose=*/false, scratch);
  for (int64_t i = 0; i < cols_; ++i) v[i] *= static_cast<T>(signs_[static_cast<size_t>(i)]);
}

void InputRotation::rotate(float* v, int64_t count) const {
  std::vector<float> scratch;
  for (int64_t r = 0; r < count; ++r) rotate_one(v + r * cols_, scratch);
}
void InputRotation::rotate(double* v, int64_t count) const {
  std::vector<double> scratch;
  for (int64_t r = 0; r < count; ++r) rotate_one(v + r * cols_, scratch);
}
void InputRotation::unrotate(float* v, int64_t count) const {
  std::vector<float> scratch;
  for (int64_t r = 0; r < count; ++r) unrotate_one(v + r * cols_, scratch);
}
void InputRotation::unrotate(double* v, int64_t count) const {
  std::vector<double> scratch;
  for (int64_t r = 0; r < count; ++r) unrotate_one(v + r * cols_, scratch);
}

// Rotating every row of H gives H·R; transposing gives R^T·H; rotating the rows again gives
// R^T·H·R.
void InputRotation::rotate_hessian(double* h) const {
  const int64_t n = cols_;
  rotate(h, n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j)
      std::swap(h[static_cast<size_t>(i * n + j)], h[static_cast<size_t>(j * n + i)]);
  rotate(h, n);
}

}  // namespace lowbit
