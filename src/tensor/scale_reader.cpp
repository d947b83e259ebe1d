// SPDX-License-Identifier: MIT
// Scale entry decoding.
#include "tensor/scale_reader.h"

#include <algorithm>
#include <cstring>

#include "numerics/half.h"
#include "tensor/k_quant.h"

namespace lowbit {

float nf4_nested_absmax(float nested_offset, float nested_scale, uint8_t code) {
  const float step = nested_scale * static_cast<float>(static_cast<int>(code) - 128);
  return nested_offset + step;
}

ScaleReader ScaleReader::of(const QuantizedTensor& w) {
  ScaleReader r;
  r.encoding = scale_encoding(w.format);
  if (r.encoding == ScaleEncoding::none) return r;
  r.scales = w.scales.data();
  if (r.encoding == ScaleEncoding::nested_u8) {
    r.nested_scales = w.nested_scales.data();
    r.nested_offset = w.nested_offset;
  }
  if (r.encoding == ScaleEncoding::k_super) r.k_bits = w.format.bits;
  return r;
}

namespace {

float f16_at(const uint8_t* p) {
  uint16_t bits;
  std::memcpy(&bits, p, sizeof bits);
  return f16_to_f32(bits);
}

// Sub-block j's scale d * sc_j of a k-quant super-block (exact in f32): Q6_K's int8 scales,
// Q4_K / Q5_K's 6-bit ones.
float k_sub_scale(const uint8_t* block, int j, int k_bits, float d) {
  if (k_bits == 6) return d * static_cast<float>(static_cast<int8_t>(block[j]));
  unsigned sc = 0, m = 0;
  k_scale_min(block + 4, j, sc, m);
  return d * static_cast<float>(sc);
}

// The f16 d of a k-quant super-block.
float k_super_d(const uint8_t* block, int k_bits) {
  return f16_at(k_bits == 6 ? block + 16 : block);
}

}  // namespace

float ScaleReader::min_at(int64_t i) const {
  if (encoding != ScaleEncoding::k_super || k_bits == 6) return 0.0f;
  const int64_t subs = k_sub_blocks(k_bits);
  const uint8_t* block = scales + static_cast<size_t>(i / subs * k_super_bytes(k_bits));
  unsigned sc = 0, m = 0;
  k_scale_min(block + 4, static_cast<int>(i % subs), sc, m);
  return -(f16_at(block + 2) * static_cast<float>(m));  // exact: 11 x 6 significant bits
}

float ScaleReader::at(int64_t i) const {
  const auto index = static_cast<size_t>(i);
  switch (encoding) {
    case ScaleEncoding::none:
      return 1.0f;
    case ScaleEncoding::nested_u8: {
      float nested;
      std::memcpy(&nested, nested_scales + (index / 256) * sizeof(float), sizeof nested);
      return nf4_nested_absmax(nested_offset, nested, scales[index]);
    }
    case ScaleEncoding::f16: {
      uint16_t bits;
      std::memcpy(&bits, entry(i), sizeof bits);
      return f16_to_f32(bits);
    }
    case ScaleEncoding::f32: {
      float value;
      std::memcpy(&value, entry(i), sizeof value);
      return value;
    }
    case ScaleEncoding::k_super: {
      // d * the sub-block's 6-bit (Q4_K / Q5_K) or int8 (Q6_K) scale: exact in f32.
      const int64_t subs = k_sub_blocks(k_bits);
      const uint8_t* block = scales + static_cast<size_t>(i / subs * k_super_bytes(k_bits));
      return k_sub_scale(block, static_cast<int>(i % subs), k_bits, k_super_d(block, k_bits));
    }
  }
  return 1.0f;
}

void ScaleReader::read(int64_t first, int64_t n, float* out) const {
  if (encoding == ScaleEncoding::f32) {
    std::memcpy(out, entry(first), static_cast<size_t>(n) * sizeof(float));
    return;
  }
  if (encoding == ScaleEncoding::k_super) {
    // One f16 conversion per super-block (the same products as at()).
    const int64_t subs = k_sub_blocks(k_bits);
    int64_t i = first;
    while (i < first + n) {
      const uint8_t* block = scales + static_cast<size_t>(i / subs * k_super_bytes(k_bits));
      const float d = k_super_d(block, k_bits);
      const int64_t end = std::min(first + n, (i / subs + 1) * subs);
      for (; i < end; ++i)
        out[i - first] = k_sub_scale(block, static_cast<int>(i % subs), k_bits, d);
    }
    return;
  }
  for (int64_t j = 0; j < n; ++j) out[j] = at(first + j);
}

}  // namespace lowbit
