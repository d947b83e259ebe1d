// SPDX-License-Identifier: MIT
// ggml's reference block quantizers (see quant/ggml_rtn.h for the rules).
#include "quant/ggml_rtn.h"

#include <cmath>
#include <cstring>

#include "numerics/half.h"
#include "quant/affine_store.h"
#include "util/check.h"

namespace lowbit::quant {
namespace {

constexpr int kBlock = 32;

// One block of n <= 32 values: writes n codes and returns the f16 bits of d.
using BlockRule = uint16_t (*)(const float* x, int n, uint8_t* codes);

uint16_t q8_0_block(const float* x, int n, uint8_t* codes) {
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
uint16_t legacy_sym_block(const float* x, int n, uint8_t* codes) {
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

BlockRule block_rule(std::string_view scheme) {
  if (scheme == "q8_0") return q8_0_block;
  if (scheme == "q4_0") return legacy_sym_block<8>;
  if (scheme == "q5_0") return legacy_sym_block<16>;
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
  };
  return schemes;
}

std::optional<GgmlSchemeInfo> find_ggml_scheme(std::string_view name) {
  for (const GgmlSchemeInfo& s : ggml_schemes())
    if (s.name == name) return s;
  return std::nullopt;
}

QuantizedTensor quantize_ggml(const float* w, int64_t rows, int64_t cols, std::string_view scheme,
                              const std::string& name) {
  const std::optional<GgmlSchemeInfo> info = find_ggml_scheme(scheme);
  LB_CHECK_ARG(info.has_value(), "tensor ", name, ": '", scheme, "' is not a ggml scheme");
  const BlockRule rule = block_rule(scheme);
  LB_CHECK(rule != nullptr, "no block rule for ", scheme);
  check_weights(w, rows, cols, info->format, name);
  QuantizedTensor t = allocate_quantized(info->format, rows, cols);
  auto* scales = t.scales.as_mutable<uint16_t>();
  const int64_t per_row = t.groups_per_row();
  std::vector<uint8_t> codes(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = w + r * cols;
    for (int64_t g = 0; g < per_row; ++g) {
      const int64_t c0 = g * kBlock;
      const int n = static_cast<int>(std::min<int64_t>(kBlock, cols - c0));
      scales[r * per_row + g] = rule(x + c0, n, codes.data() + c0);
    }
    store_row_codes(t, r, codes.data());
  }
  return t;
}

}  // namespace lowbit::quant
