// SPDX-License-Identifier: MIT
// A randomized orthogonal rotation of a linear layer's input space, for incoherence processing
// (QuIP / QuIP# / QTIP): a weight W [rows, cols] is stored as W' = W·R and its inputs become
// R^T·x, so W·x = W'·(R^T·x). After the rotation every row of W' mixes all of W's columns with
// random signs: outlier columns are spread over the whole row, and the entries of W' are close
// to Gaussian, which is what a Gaussian-matched codebook (quant/trellis.h) wants.
//
// R = diag(signs) · K, K = C_m ⊗ H_p, cols = m · p with p the largest power of two dividing
// cols: H_p the orthonormal Walsh-Hadamard matrix (fast transform, p log p), C_m the
// orthonormal DCT-II matrix of the odd rest m (C_1 = [1]); index i = a·p + b, a < m, b < p.
// signs are ±1 from a seed (splitmix64), so a rotation is two integers: cols and seed.
//
// Vectors here are one row of W (or of H): rotate maps w to R^T·w (the row of W·R), unrotate
// maps w' back to R·w' (the row of W'·R^T). Both are exact inverses up to rounding.
#pragma once

#include <cstdint>
#include <vector>

namespace lowbit {

class InputRotation {
 public:
  InputRotation(int64_t cols, uint64_t seed);

  int64_t cols() const { return cols_; }
  uint64_t seed() const { return seed_; }

  // v <- R^T·v for each of `count` rows of length cols, back to back.
  void rotate(float* v, int64_t count = 1) const;
  void rotate(double* v, int64_t count = 1) const;
  // v <- R·v.
  void unrotate(float* v, int64_t count = 1) const;
  void unrotate(double* v, int64_t count = 1) const;
  // The input Hessian of the rotated layer: h[cols, cols] (symmetric) <- R^T·H·R.
  void rotate_hessian(double* h) const;

 private:
  template <typename T>
  void rotate_one(T* v, std::vector<T>& scratch) const;
  template <typename T>
  void unrotate_one(T* v, std::vector<T>& scratch) const;

  int64_t cols_;
  uint64_t seed_;
  int64_t p_ = 1;  // power-of-two factor
  int64_t m_ = 1;  // odd factor
  std::vector<float> signs_;
  std::vector<double> dct_;  // C_m, row-major [m, m]
};

}  // namespace lowbit
