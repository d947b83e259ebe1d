// SPDX-License-Identifier: MIT
// Scale entry decoding.
#include "tensor/scale_reader.h"

#include <cstring>

#include "numerics/half.h"

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
  return r;
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
  }
  return 1.0f;
}

void ScaleReader::read(int64_t first, int64_t n, float* out) const {
  if (encoding == ScaleEncoding::f32) {
    std::memcpy(out, entry(first), static_cast<size_t>(n) * sizeof(float));
    return;
  }
  for (int64_t j = 0; j < n; ++j) out[j] = at(first + j);
}

}  // namespace lowbit
