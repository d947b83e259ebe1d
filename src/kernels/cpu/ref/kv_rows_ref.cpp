// SPDX-License-Identifier: MIT
// Scalar KV-cache row decoders: the reference the AVX2 decoders are tested against.
#include <cstring>

#include "kernels/cpu/kv_codecs.h"
#include "kernels/cpu/kv_rows.h"

namespace lowbit::kernels::cpu::ref {

namespace {

void f16(const uint16_t* in, int64_t n, float* out) {
  const float* table = f16_table();
  for (int64_t i = 0; i < n; ++i) out[i] = table[in[i]];
}

void bf16(const uint16_t* in, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t bits = static_cast<uint32_t>(in[i]) << 16;
    std::memcpy(out + i, &bits, sizeof bits);
  }
}

void e4m3(const uint8_t* in, int64_t n, float scale, float* out) {
  const float* table = e4m3_table();
  for (int64_t i = 0; i < n; ++i) out[i] = table[in[i]] * scale;
}

void e5m2(const uint8_t* in, int64_t n, float* out) {
  const float* table = e5m2_table();
  for (int64_t i = 0; i < n; ++i) out[i] = table[in[i]];
}

void int8(const int8_t* in, int64_t n, float scale, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(in[i]) * scale;
}

void int4_group(const uint8_t* packed, int64_t n, float scale, float min, float* out) {
  for (int64_t i = 0; i < n; i += 2) {
    const uint8_t b = packed[i / 2];
    out[i] = min + static_cast<float>(b & 0xF) * scale;
    out[i + 1] = min + static_cast<float>(b >> 4) * scale;
  }
}

void int4_channels(const uint8_t* packed, int64_t n, const float* scale, const float* min,
                   float* out) {
  for (int64_t i = 0; i < n; i += 2) {
    const uint8_t b = packed[i / 2];
    out[i] = min[i] + static_cast<float>(b & 0xF) * scale[i];
    out[i + 1] = min[i + 1] + static_cast<float>(b >> 4) * scale[i + 1];
  }
}

}  // namespace

const KvRowDecoders& kv_row_decoders() {
  static const KvRowDecoders table{&f16, &bf16, &e4m3, &e5m2, &int8, &int4_group, &int4_channels};
  return table;
}

}  // namespace lowbit::kernels::cpu::ref
