// SPDX-License-Identifier: MIT
// The reference decoder on hand-built tensors whose bytes and expected values are worked out
// from the layout comment in tensor/quant_format.h.
#include "tensor/dequantize.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "numerics/nf4.h"
#include "util/error.h"

namespace lowbit {
namespace {

template <typename T>
Buffer buffer_of(const std::vector<T>& v) {
  return Buffer::copy_of(v.data(), v.size() * sizeof(T));
}

void expect_values(const QuantizedTensor& t, const std::vector<float>& want) {
  t.validate("test");
  const std::vector<float> got = dequantize_reference(t);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(got[i], want[i]) << "element " << i;
}

TEST(Dequantize, DenseFormats) {
  expect_values(QuantizedTensor::dense(QuantKind::f16, {2, 2},
                                       buffer_of<uint16_t>({0x3C00, 0xC000, 0x7BFF, 0x0001})),
                {1.0f, -2.0f, 65504.0f, 0x1p-24f});
  expect_values(QuantizedTensor::dense(QuantKind::bf16, {3},  // 1-D: one row
                                       buffer_of<uint16_t>({0x3F80, 0xC040, 0x0000})),
                {1.0f, -3.0f, 0.0f});
  const std::vector<float> f32 = {0.5f, -7.25f, 3e-39f};
  expect_values(QuantizedTensor::from_f32(f32.data(), {1, 3}), f32);
}

// int4 asymmetric, groups of 4 over 6 columns: the second group of each row is ragged (2
// columns). Element 2j is the low nibble of byte j.
QuantizedTensor int4_asym_tensor() {
  QuantizedTensor t;
  t.format = QuantFormat::affine(4, 4, /*symmetric=*/false);
  t.shape = {2, 6};
  // row 0 codes 0 15 3 8 | 1 2; row 1 codes 7 7 7 7 | 15 0.
  t.codes = buffer_of<uint8_t>({0xF0, 0x83, 0x21, 0x77, 0x77, 0x0F});
  // scales 0.5 0.25 | 2 -1 and zero-points 8 0 | 7 15, all f16.
  t.scales = buffer_of<uint16_t>({0x3800, 0x3400, 0x4000, 0xBC00});
  t.zeros = buffer_of<uint16_t>({0x4800, 0x0000, 0x4700, 0x4B80});
  return t;
}

TEST(Dequantize, AffineAsymmetricRaggedGroups) {
  const QuantizedTensor t = int4_asym_tensor();
  expect_values(t, {-4.0f, 3.5f, -2.5f, 0.0f, 0.25f, 0.5f,   // 0.5*(q-8), 0.25*(q-0)
                    0.0f, 0.0f, 0.0f, 0.0f, -0.0f, 15.0f});  // 2*(q-7), -1*(q-15)
  EXPECT_EQ(scale_at(t, 3), -1.0f);
  EXPECT_EQ(zero_at(t, 1), 0.0f);
  EXPECT_EQ(zero_at(t, 2), 7.0f);
  EXPECT_EQ(scale_index(t.format, 6, 1, 5), 3);
}

TEST(Dequantize, AffineSymmetricPerChannelF32Scales) {
  QuantizedTensor t;
  t.format = QuantFormat::affine(3, kPerChannel, /*symmetric=*/true);
  t.format.scale_dtype = DType::f32;
  t.shape = {2, 5};
  // Row 0 codes 4 7 1 0 5: 4 | 7<<3 | 1<<6 | 0<<9 | 5<<12 = 0x507C; row 1 all zero codes.
  t.codes = buffer_of<uint8_t>({0x7C, 0x50, 0x00, 0x00});
  t.scales = buffer_of<float>({0.5f, 3.0f});
  // zero = 2^(3-1) = 4.
  expect_values(t, {0.0f, 1.5f, -1.5f, -2.0f, 0.5f, -12.0f, -12.0f, -12.0f, -12.0f, -12.0f});
  EXPECT_EQ(zero_at(t, 1), 4.0f);
}

TEST(Dequantize, AffinePerTensorEightBit) {
  QuantizedTensor t;
  t.format = QuantFormat::affine(8, kPerTensor, /*symmetric=*/false);
  t.shape = {2, 3};
  t.codes = buffer_of<uint8_t>({128, 0, 255, 130, 129, 127});
  t.scales = buffer_of<uint16_t>({0x3000});  // 0.125
  t.zeros = buffer_of<uint16_t>({0x5800});   // 128
  expect_values(t, {0.0f, -16.0f, 15.875f, 0.25f, 0.125f, -0.125f});
}

TEST(Dequantize, Nf4BlockWiderThanRow) {
  QuantizedTensor t;
  t.format = QuantFormat::nf4(64, false);
  t.shape = {1, 4};
  t.codes = buffer_of<uint8_t>({0x70, 0x8F});  // codes 0 7 15 8
  t.scales = buffer_of<float>({2.0f});
  expect_values(t, {-2.0f, 0.0f, 2.0f, 2.0f * kNf4Codebook[8]});
}

// 3 rows x 100 blocks of 2 = 300 absmax codes: entries 0..255 use nested scale 0 and entries
// 256..299 nested scale 1.
TEST(Dequantize, Nf4DoubleQuantAcrossNestedBlocks) {
  QuantizedTensor t;
  t.format = QuantFormat::nf4(2, true);
  t.shape = {3, 200};
  t.codes = Buffer::allocate(300);
  std::memset(t.codes.mutable_data(), 0x0F, 300);  // even columns code 15 (+1), odd code 0 (-1)
  std::vector<uint8_t> scale_codes(300);
  for (size_t i = 0; i < 300; ++i) scale_codes[i] = static_cast<uint8_t>(126 + i % 5);
  t.scales = buffer_of(scale_codes);
  t.nested_scales = buffer_of<float>({0.5f, 0.25f});
  t.nested_offset = 1.0f;
  std::vector<float> want(600);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 200; ++c) {
      const int i = r * 100 + c / 2;
      const float absmax = 1.0f + (i < 256 ? 0.5f : 0.25f) * static_cast<float>(i % 5 - 2);
      want[static_cast<size_t>(r * 200 + c)] = c % 2 == 0 ? absmax : -absmax;
    }
  expect_values(t, want);
  EXPECT_EQ(scale_at(t, 255), 0.0f);   // 255 % 5 = 0: code 126, 1 + 0.5 * -2
  EXPECT_EQ(scale_at(t, 256), 0.75f);  // 256 % 5 = 1: code 127, 1 + 0.25 * -1
}

TEST(Dequantize, Fp8PerChannelAndPerTensor) {
  QuantizedTensor e4;
  e4.format = QuantFormat::fp8(QuantKind::fp8_e4m3, kPerChannel);
  e4.shape = {2, 3};
  // 0x38 = 1, 0x7E = 448, 0xB8 = -1 | 0x01 = 2^-9, 0x00 = 0, 0x40 = 2.
  e4.codes = buffer_of<uint8_t>({0x38, 0x7E, 0xB8, 0x01, 0x00, 0x40});
  e4.scales = buffer_of<float>({2.0f, 0.5f});
  expect_values(e4, {2.0f, 896.0f, -2.0f, 0x1p-10f, 0.0f, 1.0f});

  QuantizedTensor e5;
  e5.format = QuantFormat::fp8(QuantKind::fp8_e5m2, kPerTensor);
  e5.shape = {1, 3};
  e5.codes = buffer_of<uint8_t>({0x3C, 0x7B, 0xC0});  // 1, 57344, -2
  e5.scales = buffer_of<float>({4.0f});
  expect_values(e5, {4.0f, 229376.0f, -8.0f});
}

TEST(Dequantize, RowRangeMatchesFullDecodeAndIsChecked) {
  const QuantizedTensor t = int4_asym_tensor();
  const std::vector<float> all = dequantize_reference(t);
  std::vector<float> row1(6);
  dequantize_rows_reference(t, 1, 2, row1.data());
  EXPECT_EQ(row1, std::vector<float>(all.begin() + 6, all.end()));
  dequantize_rows_reference(t, 2, 2, nullptr);  // empty range: nothing written
  EXPECT_THROW(dequantize_rows_reference(t, 1, 3, row1.data()), InvalidArgument);
  EXPECT_THROW(dequantize_rows_reference(t, -1, 1, row1.data()), InvalidArgument);
  EXPECT_THROW(scale_at(t, 4), InvalidArgument);
  QuantizedTensor short_scales = int4_asym_tensor();
  short_scales.scales = buffer_of<uint16_t>({0x3800, 0x3400, 0x4000});  // 3 of 4 groups
  EXPECT_THROW(dequantize_reference(short_scales), FormatError);
}

}  // namespace
}  // namespace lowbit
