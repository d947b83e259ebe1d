// SPDX-License-Identifier: MIT
#include "testing/random_weight.h"

#include <cstring>
#include <random>
#include <vector>

#include "numerics/bit_pack.h"
#include "numerics/half.h"
#include "tensor/k_quant.h"

namespace lowbit::testing {

namespace {

uint16_t f16(float v) { return f32_to_f16(v); }

void put_f16(Buffer& b, size_t i, float v) {
  const uint16_t h = f16(v);
  std::memcpy(b.mutable_data() + 2 * i, &h, 2);
}

void put_f32(Buffer& b, size_t i, float v) { std::memcpy(b.mutable_data() + 4 * i, &v, 4); }

void put_f16_at(uint8_t* at, float v) {
  const uint16_t h = f16(v);
  std::memcpy(at, &h, 2);
}

// fp8 codes that decode to finite values (NaN codes are never produced by a quantizer).
uint8_t finite_fp8(QuantKind kind, std::mt19937& rng) {
  while (true) {
    const auto c = static_cast<uint8_t>(rng() & 0xFF);
    if (kind == QuantKind::fp8_e4m3 && (c & 0x7F) == 0x7F) continue;
    if (kind == QuantKind::fp8_e5m2 && (c & 0x7C) == 0x7C) continue;
    return c;
  }
}

}  // namespace

QuantizedTensor random_weight(const QuantFormat& f, int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> uniform(0.01f, 0.1f);
  QuantizedTensor w;
  w.format = f;
  w.shape = {rows, cols};
  w.codes = Buffer::allocate(buffer_sizes(f, rows, cols).codes);
  uint8_t* codes = w.codes.mutable_data();
  const auto n = static_cast<size_t>(rows * cols);
  switch (f.kind) {
    case QuantKind::trellis:  // any bytes are a valid set of trellis streams
      for (size_t i = 0; i < w.codes.size(); ++i) codes[i] = static_cast<uint8_t>(rng() & 0xFF);
      break;
    case QuantKind::f32:
      for (size_t i = 0; i < n; ++i) put_f32(w.codes, i, normal(rng));
      return w;
    case QuantKind::f16:
      for (size_t i = 0; i < n; ++i) put_f16(w.codes, i, normal(rng));
      return w;
    case QuantKind::bf16:
      for (size_t i = 0; i < n; ++i) {
        const uint16_t h = f32_to_bf16(normal(rng));
        std::memcpy(codes + 2 * i, &h, 2);
      }
      return w;
    case QuantKind::fp8_e4m3:
    case QuantKind::fp8_e5m2:
      for (size_t i = 0; i < n; ++i) codes[i] = finite_fp8(f.kind, rng);
      break;
    default: {
      std::vector<uint8_t> row(static_cast<size_t>(cols));
      for (int64_t r = 0; r < rows; ++r) {
        for (auto& c : row) c = static_cast<uint8_t>(rng() % (1u << f.bits));
        pack_bits(row.data(), cols, f.bits, codes + r * w.row_bytes());
      }
    }
  }
  const auto scales = static_cast<size_t>(w.scale_count());
  if (f.k_quant) {
    // ggml super-block scale bytes: random 6-bit / int8 sub-scales (and mins), small f16 d
    // (and dmin) so values stay near unit size.
    const auto per_block = static_cast<size_t>(k_super_bytes(f.bits));
    const size_t blocks = static_cast<size_t>(rows * cols / kKSuper);
    w.scales = Buffer::allocate(blocks * per_block);
    uint8_t* s = w.scales.mutable_data();
    std::uniform_real_distribution<float> small(0.0005f, 0.004f);
    for (size_t b = 0; b < blocks; ++b) {
      uint8_t* block = s + b * per_block;
      for (size_t i = 0; i < per_block; ++i) block[i] = static_cast<uint8_t>(rng());
      const size_t d_at = f.bits == 6 ? 16 : 0;
      put_f16_at(block + d_at, small(rng));
      if (f.bits != 6) put_f16_at(block + 2, small(rng));
    }
    w.validate("random");
    return w;
  }
  if (f.double_quant) {
    w.scales = Buffer::allocate(scales);
    for (size_t i = 0; i < scales; ++i) w.scales.mutable_data()[i] = static_cast<uint8_t>(rng());
    const size_t nested = (scales + 255) / 256;
    w.nested_scales = Buffer::allocate(nested * 4);
    for (size_t i = 0; i < nested; ++i) put_f32(w.nested_scales, i, uniform(rng) * 1e-3f);
    w.nested_offset = 0.06f;
  } else {
    w.scales = Buffer::allocate(scales * dtype_size(f.scale_dtype));
    for (size_t i = 0; i < scales; ++i) {
      if (f.scale_dtype == DType::f16) {
        put_f16(w.scales, i, uniform(rng));
      } else {
        put_f32(w.scales, i, uniform(rng));
      }
    }
  }
  if (f.has_zeros()) {
    w.zeros = Buffer::allocate(scales * 2);
    // A zero-point within the code range, or (min form) a min that puts the group's values
    // around 0, as a block's minimum would.
    std::uniform_real_distribution<float> zero(0.0f, static_cast<float>((1 << f.bits) - 1));
    std::uniform_real_distribution<float> min(-0.1f * static_cast<float>(1 << f.bits), 0.05f);
    for (size_t i = 0; i < scales; ++i) put_f16(w.zeros, i, f.min_offset ? min(rng) : zero(rng));
  }
  w.validate("random");
  return w;
}

}  // namespace lowbit::testing
