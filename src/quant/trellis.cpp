// SPDX-License-Identifier: MIT
#include "quant/trellis.h"

#include <cstring>
#include <limits>

#include "util/check.h"

namespace lowbit::quant {

namespace {

// One Viterbi step for the states of fan = 2^k successors each: best[m] = min over the
// predecessors (top << (L-k)) | m of cost, back[m] the top bits of the first minimum; then the
// new cost of state (m << k) | j is best[m] plus its squared error. The minimum is taken 8
// values of m at a time in vector registers (written as plain loops the compiler turned the
// selects into masked stores and branches, or scalar cmovs); the same comparisons in the same
// order as the scalar tail, so every clone finds the same states.
// Eight lanes (GCC vector extensions: one AVX2 register, two SSE ones). GCC builds an avx2 and a
// default clone (not under AddressSanitizer; clang cannot clone templates): the same operations.
using F8 = float __attribute__((vector_size(32)));
using I8 = int32_t __attribute__((vector_size(32)));

template <int64_t Fan>
#if defined(__x86_64__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
__attribute__((target_clones("avx2", "default")))
#endif
void viterbi_step(float* __restrict cost, float* __restrict best, uint8_t* __restrict back,
                  const float* __restrict cb, int64_t n_mid, int64_t fan_runtime, float xt,
                  float at) {
  const int64_t fan = Fan > 0 ? Fan : fan_runtime;
  constexpr int64_t kChunk = 8;
  int64_t m0 = 0;
  for (; m0 + kChunk <= n_mid; m0 += kChunk) {
    F8 b;
    std::memcpy(&b, cost + m0, sizeof(b));
    I8 top = {};
    for (int64_t p = 1; p < fan; ++p) {
      F8 c;
      std::memcpy(&c, cost + p * n_mid + m0, sizeof(c));
      const I8 better = c < b;
      b = better ? c : b;
      top = better ? I8{} + static_cast<int32_t>(p) : top;
    }
    std::memcpy(best + m0, &b, sizeof(b));
    for (int64_t j = 0; j < kChunk; ++j) back[m0 + j] = static_cast<uint8_t>(top[j]);
  }
  for (int64_t m = m0; m < n_mid; ++m) {  // fewer than 8 left (tiny L - k)
    float b = cost[m];
    int32_t top = 0;
    for (int64_t p = 1; p < fan; ++p)
      if (cost[p * n_mid + m] < b) {
        b = cost[p * n_mid + m];
        top = static_cast<int32_t>(p);
      }
    best[m] = b;
    back[m] = static_cast<uint8_t>(top);
  }
  if (fan % kChunk == 0) {
    const F8 x8 = F8{} + xt, a8 = F8{} + at;
    for (int64_t m = 0; m < n_mid; ++m) {
      const F8 b = F8{} + best[m];
      for (int64_t j = 0; j < fan; j += kChunk) {
        F8 v;
        std::memcpy(&v, cb + m * fan + j, sizeof(v));
        const F8 d = x8 - a8 * v;
        const F8 c = b + d * d;
        std::memcpy(cost + m * fan + j, &c, sizeof(c));
      }
    }
    return;
  }
  for (int64_t m = 0; m < n_mid; ++m) {
    const float b = best[m];
    float* __restrict c = cost + m * fan;
    const float* __restrict v = cb + m * fan;
    for (int64_t j = 0; j < fan; ++j) {
      const float d = xt - at * v[j];
      c[j] = b + d * d;
    }
  }
}

using StepFn = void (*)(float*, float*, uint8_t*, const float*, int64_t, int64_t, float, float);

StepFn step_for(int k) {
  switch (k) {
    case 1:
      return viterbi_step<2>;
    case 2:
      return viterbi_step<4>;
    case 3:
      return viterbi_step<8>;
    case 4:
      return viterbi_step<16>;
    default:
      return viterbi_step<0>;
  }
}

}  // namespace

double trellis_encode(const float* x, const float* scale, int64_t n, const TrellisShape& shape,
                      uint32_t* states, TrellisScratch& s) {
  const int k = shape.bits, L = shape.state_bits;
  LB_CHECK_ARG(k >= 1 && k <= 8 && L >= k && L <= 24 && n >= 1, "trellis: bad shape L=", L,
               " k=", k, " n=", n);
  const int64_t n_states = int64_t{1} << L;
  const int64_t n_mid = int64_t{1} << (L - k);  // predecessors share their low L-k bits
  s.cost.resize(static_cast<size_t>(n_states));
  s.best.resize(static_cast<size_t>(n_mid));
  s.back.resize(static_cast<size_t>(n * n_mid));
  const float* cb = trellis_codebook(L);
  float* cost = s.cost.data();
  const StepFn step = step_for(k);

  {
    const float x0 = x[0], a0 = scale[0];
    for (int64_t i = 0; i < n_states; ++i) {
      const float d = x0 - a0 * cb[i];
      cost[i] = d * d;
    }
  }
  for (int64_t t = 1; t < n; ++t) {
    step(cost, s.best.data(), s.back.data() + t * n_mid, cb, n_mid, int64_t{1} << k, x[t],
         scale[t]);
  }
  int64_t arg = 0;
  float min_cost = std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n_states; ++i)
    if (cost[i] < min_cost) {
      min_cost = cost[i];
      arg = i;
    }
  auto state = static_cast<uint32_t>(arg);
  states[n - 1] = state;
  for (int64_t t = n - 1; t >= 1; --t) {
    const uint32_t m = state >> k;
    state = (static_cast<uint32_t>(s.back[static_cast<size_t>(t * n_mid + m)]) << (L - k)) | m;
    states[t - 1] = state;
  }
  double err = 0.0;
  for (int64_t t = 0; t < n; ++t) {
    const double d = static_cast<double>(x[t]) - static_cast<double>(scale[t] * cb[states[t]]);
    err += d * d;
  }
  return err;
}

bool is_trellis_walk(const uint32_t* states, int64_t n, const TrellisShape& shape) {
  const int k = shape.bits, L = shape.state_bits;
  const uint32_t mask = (uint32_t{1} << L) - 1u;
  for (int64_t t = 0; t < n; ++t) {
    if ((states[t] & ~mask) != 0u) return false;
    if (t > 0 && (states[t] >> k) != (states[t - 1] & (mask >> k))) return false;
  }
  return true;
}

}  // namespace lowbit::quant
