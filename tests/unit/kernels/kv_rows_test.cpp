// SPDX-License-Identifier: MIT
// The KV-cache row decoders of each Isa against the scalar reference, bit for bit, over every
// code value (all 65,536 f16/bf16 patterns, all 256 fp8 and int8 codes, every nibble pair) and
// lengths with and without a tail shorter than one SIMD step.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/cpu/kv_rows.h"
#include "kernels/exec_context.h"

namespace lowbit::kernels::cpu {
namespace {

std::vector<Isa> simd_isas() {
  std::vector<Isa> out;
  if (detect_isa() >= Isa::avx2) out.push_back(Isa::avx2);
  if (detect_isa() >= Isa::avx512) out.push_back(Isa::avx512);
  return out;
}

// Equal bits, or both NaN (a NaN's payload is not part of the format).
void expect_same(const std::vector<float>& got, const std::vector<float>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      ASSERT_TRUE(std::isnan(got[i])) << what << " element " << i;
    } else {
      ASSERT_EQ(std::bit_cast<uint32_t>(got[i]), std::bit_cast<uint32_t>(want[i]))
          << what << " element " << i << ": " << got[i] << " vs " << want[i];
    }
  }
}

// Lengths: whole SIMD steps, and tails of every size (int4 rows are even).
const int64_t kLengths[] = {2, 8, 14, 64, 70, 256};

TEST(KvRowDecoders, HalvesMatchTheReferenceForEveryBitPattern) {
  std::vector<uint16_t> all(65536);
  for (uint32_t i = 0; i < 65536; ++i) all[i] = static_cast<uint16_t>(i);
  const KvRowDecoders& ref = ref::kv_row_decoders();
  for (Isa isa : simd_isas()) {
    const KvRowDecoders& simd = kv_row_decoders(isa);
    std::vector<float> want(all.size()), got(all.size());
    ref.f16(all.data(), 65536, want.data());
    simd.f16(all.data(), 65536, got.data());
    expect_same(got, want, "f16");
    ref.bf16(all.data(), 65536, want.data());
    simd.bf16(all.data(), 65536, got.data());
    expect_same(got, want, "bf16");
    for (int64_t n : kLengths) {
      std::vector<float> w(static_cast<size_t>(n)), g(static_cast<size_t>(n));
      ref.f16(all.data() + 15360, n, w.data());
      simd.f16(all.data() + 15360, n, g.data());
      expect_same(g, w, "f16 tail");
    }
  }
}

TEST(KvRowDecoders, ByteCodesMatchTheReferenceForEveryCode) {
  std::vector<uint8_t> all(256 + 6);  // a tail after the 256 codes
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint8_t>(i * 37 % 256);
  const auto n = static_cast<int64_t>(all.size());
  const KvRowDecoders& ref = ref::kv_row_decoders();
  for (Isa isa : simd_isas()) {
    const KvRowDecoders& simd = kv_row_decoders(isa);
    std::vector<float> want(all.size()), got(all.size());
    for (float scale : {1.0f, 0.0123f, 3.5e-6f}) {
      ref.e4m3(all.data(), n, scale, want.data());
      simd.e4m3(all.data(), n, scale, got.data());
      expect_same(got, want, "e4m3");
      const auto* signed_codes = reinterpret_cast<const int8_t*>(all.data());
      ref.int8(signed_codes, n, scale, want.data());
      simd.int8(signed_codes, n, scale, got.data());
      expect_same(got, want, "int8");
    }
    ref.e5m2(all.data(), n, want.data());
    simd.e5m2(all.data(), n, got.data());
    expect_same(got, want, "e5m2");
  }
}

TEST(KvRowDecoders, NibblesMatchTheReferenceWithSharedAndPerChannelParameters) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> byte(0, 255);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<uint8_t> packed(128);
  for (size_t i = 0; i < packed.size(); ++i)
    packed[i] = static_cast<uint8_t>(i < 16 ? i * 17 : byte(rng));
  std::vector<float> scale(256), min(256);
  for (size_t i = 0; i < 256; ++i) {
    scale[i] = std::abs(normal(rng)) * 0.1f;
    min[i] = normal(rng);
  }
  const KvRowDecoders& ref = ref::kv_row_decoders();
  for (Isa isa : simd_isas()) {
    const KvRowDecoders& simd = kv_row_decoders(isa);
    for (int64_t n : kLengths) {
      std::vector<float> want(static_cast<size_t>(n)), got(static_cast<size_t>(n));
      ref.int4_group(packed.data(), n, 0.173f, -1.29f, want.data());
      simd.int4_group(packed.data(), n, 0.173f, -1.29f, got.data());
      expect_same(got, want, "int4 group");
      ref.int4_channels(packed.data(), n, scale.data(), min.data(), want.data());
      simd.int4_channels(packed.data(), n, scale.data(), min.data(), got.data());
      expect_same(got, want, "int4 channels");
    }
  }
}

// The decoders undo the layouts: a few hand-checked values.
TEST(KvRowDecoders, ReferenceDecodesKnownCodes) {
  const KvRowDecoders& ref = ref::kv_row_decoders();
  float out[2];
  const uint8_t e4m3[2] = {0x7E, 0x01};  // 448 and the smallest subnormal 2^-9
  ref.e4m3(e4m3, 2, 0.5f, out);
  EXPECT_EQ(out[0], 224.0f);
  EXPECT_EQ(out[1], 0x1p-10f);
  const uint8_t nibbles[1] = {0x3A};  // codes 10, 3
  ref.int4_group(nibbles, 2, 0.5f, -1.0f, out);
  EXPECT_EQ(out[0], 4.0f);
  EXPECT_EQ(out[1], 0.5f);
  const uint16_t bf16[2] = {0x3F80, 0xC000};
  ref.bf16(bf16, 2, out);
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], -2.0f);
}

}  // namespace
}  // namespace lowbit::kernels::cpu
