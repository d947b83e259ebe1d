// SPDX-License-Identifier: MIT
// ggml's reference block quantizers (see quant/ggml_rtn.h for the rules).
#include "quant/ggml_rtn.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "numerics/half.h"
#include "numerics/iq4_nl.h"
#include "quant/affine_store.h"
#include "quant/ggml_kquant.h"
#include "tensor/k_quant.h"
#include "util/check.h"

namespace lowbit::quant {
namespace {

constexpr int kBlock = 32;

// One block of n <= 32 values: writes n codes and returns the f16 bits of d (and, in the min
// form, writes the f16 bits of the min).
using BlockRule = uint16_t (*)(const float* x, int n, uint8_t* codes, uint16_t* min);

uint16_t q8_0_block(const float* x, int n, uint8_t* codes, uint16_t*) {
  float amax = 0.0f;
  for (int j = 0; j < n; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  for (int j = 0; j < n; ++j) {
    const auto q = static_cast<int>(std::roundf(x[j] * id));  // in [-127, 127]
    codes[j] = static_cast<uint8_t>(q + 128);
  }
  return f32_to_f16(d);
}

// Q4_0 / Q5_0: the signed value of the largest magnitude (the first of equal magnitudes) gives
// d = max / -half, so that value gets code 0.
template <int kHalf>
uint16_t legacy_sym_block(const float* x, int n, uint8_t* codes, uint16_t*) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < n; ++j)
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  const float d = max / static_cast<float>(-kHalf);
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  constexpr float kOffset = static_cast<float>(kHalf) + 0.5f;
  for (int j = 0; j < n; ++j) {
    const float v = x[j] * id + kOffset;  // in [0.5, 2 * half + 0.5]: truncation is floor
    const int q = static_cast<int>(v);
    codes[j] = static_cast<uint8_t>(std::min(q, 2 * kHalf - 1));
  }
  return f32_to_f16(d);
}

// Q4_1 / Q5_1: the block's range [min, max] (strict comparisons from +-FLT_MAX), d = range /
// levels, codes from the f32 min: q = trunc((x - min) * id + 0.5) (two statements, no fused
// multiply-add), clamped to the top code for Q4_1 only (Q5_1 cannot exceed it); a constant
// block gets d = 0 and codes 0.
template <int kLevels>
uint16_t legacy_min_block(const float* x, int n, uint8_t* codes, uint16_t* min_bits) {
  float min = std::numeric_limits<float>::max(), max = -std::numeric_limits<float>::max();
  for (int j = 0; j < n; ++j) {
    if (x[j] < min) min = x[j];
    if (x[j] > max) max = x[j];
  }
  const float d = (max - min) / static_cast<float>(kLevels);
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  for (int j = 0; j < n; ++j) {
    const float scaled = (x[j] - min) * id;
    const float v = scaled + 0.5f;  // >= 0.5: truncation is floor
    const int q = static_cast<int>(v);
    codes[j] = static_cast<uint8_t>(kLevels == 15 ? std::min(q, 15) : q);
  }
  *min_bits = f32_to_f16(min);
  return f32_to_f16(d);
}

// IQ4_NL, as llama-quantize runs it without an importance matrix (quantize_row_iq4_nl_impl
// with ntry = 7): weights x^2; the first scale d0 = max / 127 (max the signed value of the first
// largest |x|) gives codes and the weighted least-squares d = sum(w q x) / sum(w q^2); then
// 15 trial inverse scales (t - 127) / max, t = -7..7, each kept when its least-squares fit scores
// strictly better (sum(w q x)^2 / sum(w q^2)); the final codes come from the f32 d. Products
// are evaluated left to right ((w * q) * x), each operation rounded (no fused multiply-add).
// A block with max |x| < 1e-15 stores d = +0 and code 8 (the level nearest 0) everywhere.
uint16_t iq4_nl_block(const float* x, int n, uint8_t* codes, uint16_t*) {
  constexpr float kGroupMaxEps = 1e-15f;
  constexpr int kTries = 7;
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < n; ++j)
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  float d = 0.0f;
  if (amax >= kGroupMaxEps) {
    const auto level = [](int l) { return static_cast<float>(kIq4NlValues[l]); };
    // sum(w q x) and sum(w q^2) of the codes an inverse scale gives.
    const auto fit = [&](float inverse, float& sumqx, float& sumq2) {
      sumqx = 0.0f;
      sumq2 = 0.0f;
      for (int j = 0; j < n; ++j) {
        const float al = inverse * x[j];
        const float q = level(iq4_nl_nearest(al));
        const float w = x[j] * x[j];
        const float wq = w * q;
        const float wqx = wq * x[j];
        sumqx = sumqx + wqx;
        const float wqq = wq * q;
        sumq2 = sumq2 + wqq;
      }
    };
    const float d0 = -max / level(0);
    float sumqx = 0.0f, sumq2 = 0.0f;
    fit(1.0f / d0, sumqx, sumq2);
    d = sumqx / sumq2;
    float best = d * sumqx;
    for (int t = -kTries; t <= kTries; ++t) {
      const float inverse = static_cast<float>(t + kIq4NlValues[0]) / max;
      fit(inverse, sumqx, sumq2);
      const float score = sumqx * sumqx;
      const float bar = best * sumq2;
      if (sumq2 > 0.0f && score > bar) {
        d = sumqx / sumq2;
        best = d * sumqx;
      }
    }
  }
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  for (int j = 0; j < n; ++j) {
    const float al = id * x[j];
    codes[j] = static_cast<uint8_t>(iq4_nl_nearest(al));
  }
  return f32_to_f16(d);
}

BlockRule block_rule(std::string_view scheme) {
  if (scheme == "q8_0") return q8_0_block;
  if (scheme == "q4_0") return legacy_sym_block<8>;
  if (scheme == "q5_0") return legacy_sym_block<16>;
  if (scheme == "q4_1") return legacy_min_block<15>;
  if (scheme == "q5_1") return legacy_min_block<31>;
  if (scheme == "iq4_nl") return iq4_nl_block;
  return nullptr;
}

}  // namespace

const std::vector<GgmlSchemeInfo>& ggml_schemes() {
  static const std::vector<GgmlSchemeInfo> schemes = {
      {"q8_0", QuantFormat::affine(8, kBlock, true),
       "llama.cpp Q8_0: int8 blocks of 32, f16 d = amax/127 (ggml's rounding, GGUF-exact)"},
      {"q4_0", QuantFormat::affine(4, kBlock, true),
       "llama.cpp Q4_0: 4-bit blocks of 32, f16 d = max/-8 (ggml's rounding, GGUF-exact)"},
      {"q5_0", QuantFormat::affine(5, kBlock, true),
       "llama.cpp Q5_0: 5-bit blocks of 32, f16 d = max/-16 (ggml's rounding, GGUF-exact)"},
      {"q4_1", QuantFormat::affine_min(4, kBlock),
       "llama.cpp Q4_1: 4-bit blocks of 32, f16 d = range/15 and f16 min (GGUF-exact)"},
      {"q5_1", QuantFormat::affine_min(5, kBlock),
       "llama.cpp Q5_1: 5-bit blocks of 32, f16 d = range/31 and f16 min (GGUF-exact)"},
      {"q4_k", QuantFormat::k_quant_of(4),
       "llama.cpp Q4_K: super-blocks of 256, 6-bit scales and mins per 32 (rows not a multiple "
       "of 256 fall back to q5_0, as llama-quantize does)"},
      {"q5_k", QuantFormat::k_quant_of(5),
       "llama.cpp Q5_K: as q4_k with 5-bit codes (fallback q5_1)"},
      {"q6_k", QuantFormat::k_quant_of(6),
       "llama.cpp Q6_K: super-blocks of 256, int8 scales per 16, 6-bit codes (fallback q8_0)"},
      {"iq4_nl", QuantFormat::iq4_nl(kBlock),
       "llama.cpp IQ4_NL: 16 non-uniform levels in blocks of 32, f16 d by llama-quantize's "
       "least-squares search (GGUF-exact)"},
  };
  return schemes;
}

std::optional<GgmlSchemeInfo> find_ggml_scheme(std::string_view name) {
  for (const GgmlSchemeInfo& s : ggml_schemes())
    if (s.name == name) return s;
  return std::nullopt;
}

std::string_view k_quant_fallback(std::string_view scheme) {
  if (scheme == "q4_k") return "q5_0";
  if (scheme == "q5_k") return "q5_1";
  if (scheme == "q6_k") return "q8_0";
  return {};
}

QuantizedTensor quantize_ggml(const float* w, int64_t rows, int64_t cols, std::string_view scheme,
                              const std::string& name) {
  const std::optional<GgmlSchemeInfo> info = find_ggml_scheme(scheme);
  LB_CHECK_ARG(info.has_value(), "tensor ", name, ": '", scheme, "' is not a ggml scheme");
  if (info->format.k_quant) {
    // llama-quantize's fallback for rows that are not whole super-blocks.
    if (cols % kKSuper != 0) return quantize_ggml(w, rows, cols, k_quant_fallback(scheme), name);
    check_weights(w, rows, cols, info->format, name, /*min_form_ok=*/true);
    QuantizedTensor t = allocate_quantized(info->format, rows, cols);
    const int bits = info->format.bits;
    const auto scale_bytes = static_cast<size_t>(k_super_bytes(bits));
    std::vector<uint8_t> codes(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t b = 0; b < cols / kKSuper; ++b) {
        const size_t block = static_cast<size_t>(r * (cols / kKSuper) + b);
        quantize_k_super_block(bits, w + r * cols + b * kKSuper, codes.data() + b * kKSuper,
                               t.scales.mutable_data() + block * scale_bytes);
      }
      store_row_codes(t, r, codes.data());
    }
    return t;
  }
  const BlockRule rule = block_rule(scheme);
  LB_CHECK(rule != nullptr, "no block rule for ", scheme);
  check_weights(w, rows, cols, info->format, name, /*min_form_ok=*/true);
  QuantizedTensor t = allocate_quantized(info->format, rows, cols);
  auto* scales = t.scales.as_mutable<uint16_t>();
  uint16_t* mins = info->format.min_offset ? t.zeros.as_mutable<uint16_t>() : nullptr;
  uint16_t unused_min = 0;
  const int64_t per_row = t.groups_per_row();
  std::vector<uint8_t> codes(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = w + r * cols;
    for (int64_t g = 0; g < per_row; ++g) {
      const int64_t c0 = g * kBlock;
      const int n = static_cast<int>(std::min<int64_t>(kBlock, cols - c0));
      const int64_t at = r * per_row + g;
      scales[at] = rule(x + c0, n, codes.data() + c0, mins != nullptr ? &mins[at] : &unused_min);
    }
    store_row_codes(t, r, codes.data());
  }
  return t;
}

}  // namespace lowbit::quant
