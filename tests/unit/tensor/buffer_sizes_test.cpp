// SPDX-License-Identifier: MIT
// buffer_sizes() is the one rule for the byte sizes of a format's buffers, and validate_format
// accepts only the combinations it can size.
#include <gtest/gtest.h>

#include <cstring>

#include "tensor/dequantize.h"
#include "tensor/quant_format.h"
#include "util/error.h"

namespace lowbit {
namespace {

QuantFormat with(QuantFormat f, void (*edit)(QuantFormat&)) {
  edit(f);
  return f;
}

TEST(BufferSizes, DoubleQuantOnlyForNf4) {
  // An int format claiming double quantization used to pass: its scales were sized one byte
  // each while the int decoders read two (f16) per entry.
  EXPECT_THROW(validate_format(with(QuantFormat::affine(4, 32, true),
                                    [](QuantFormat& f) { f.double_quant = true; })),
               InvalidArgument);
  EXPECT_THROW(validate_format(with(QuantFormat::fp8(QuantKind::fp8_e4m3),
                                    [](QuantFormat& f) { f.double_quant = true; })),
               InvalidArgument);
  EXPECT_THROW(validate_format(with(QuantFormat::dense(QuantKind::f16),
                                    [](QuantFormat& f) { f.double_quant = true; })),
               InvalidArgument);
  EXPECT_NO_THROW(validate_format(QuantFormat::nf4(64, true)));
}

TEST(BufferSizes, UnknownCombinationsAreRefused) {
  // fp8 scales are f32 only; nf4 is symmetric; dense formats have no groups or zero-points.
  EXPECT_THROW(validate_format(with(QuantFormat::fp8(QuantKind::fp8_e5m2),
                                    [](QuantFormat& f) { f.scale_dtype = DType::f16; })),
               InvalidArgument);
  EXPECT_THROW(
      validate_format(with(QuantFormat::nf4(), [](QuantFormat& f) { f.symmetric = false; })),
      InvalidArgument);
  EXPECT_THROW(validate_format(with(QuantFormat::dense(QuantKind::f32),
                                    [](QuantFormat& f) { f.group_size = 32; })),
               InvalidArgument);
  EXPECT_THROW(validate_format(with(QuantFormat::dense(QuantKind::bf16),
                                    [](QuantFormat& f) { f.symmetric = false; })),
               InvalidArgument);
  EXPECT_THROW(validate_format(with(QuantFormat::affine(4, 32, true),
                                    [](QuantFormat& f) { f.scale_dtype = DType::bf16; })),
               InvalidArgument);
  EXPECT_THROW(validate_format(QuantFormat::affine(9, 32, true)), InvalidArgument);
  EXPECT_THROW(validate_format(QuantFormat::affine(1, 32, true)), InvalidArgument);
  EXPECT_THROW(buffer_sizes(QuantFormat::affine(1, 32, true), 4, 64), InvalidArgument);
}

TEST(BufferSizes, SizesFollowTheDocumentedLayouts) {
  // [3, 100]: int4 g32 asym has 4 groups per row (the last ragged), f16 scale and zero each.
  const BufferSizes a = buffer_sizes(QuantFormat::affine(4, 32, false), 3, 100);
  EXPECT_EQ(a.codes, 3u * 50u);
  EXPECT_EQ(a.scales, 3u * 4u * 2u);
  EXPECT_EQ(a.zeros, 3u * 4u * 2u);
  EXPECT_EQ(a.nested_scales, 0u);
  // nf4 b64 dq on [300, 64]: 300 u8 codes, 2 nested f32 scales, the 4-byte offset.
  const BufferSizes n = buffer_sizes(QuantFormat::nf4(64, true), 300, 64);
  EXPECT_EQ(n.codes, 300u * 32u);
  EXPECT_EQ(n.scales, 300u);
  EXPECT_EQ(n.zeros, 0u);
  EXPECT_EQ(n.nested_scales, 8u);
  EXPECT_EQ(n.total(), 300u * 32u + 300u + 8u + 4u);
  EXPECT_EQ(storage_bytes(QuantFormat::nf4(64, true), 300, 64), n.total());
  // fp8 per-tensor: one f32 scale.
  const BufferSizes f = buffer_sizes(QuantFormat::fp8(QuantKind::fp8_e4m3, kPerTensor), 5, 7);
  EXPECT_EQ(f.codes, 35u);
  EXPECT_EQ(f.scales, 4u);
  // Dense: elements only.
  const BufferSizes d = buffer_sizes(QuantFormat::dense(QuantKind::bf16), 2, 3);
  EXPECT_EQ(d.total(), 12u);
}

TEST(BufferSizes, ValidateRefusesMismatchedBuffers) {
  QuantizedTensor t;
  t.format = QuantFormat::affine(4, 32, true);
  t.shape = {2, 64};
  const BufferSizes s = t.buffer_sizes();
  t.codes = Buffer::allocate(s.codes);
  t.scales = Buffer::allocate(s.scales);
  EXPECT_NO_THROW(t.validate("w"));
  t.zeros = Buffer::allocate(8);  // a symmetric format stores no zero-points
  EXPECT_THROW(t.validate("w"), FormatError);
  t.zeros = Buffer();
  t.format.double_quant = true;  // the old out-of-bounds combination
  t.scales = Buffer::allocate(s.scales / 2);
  t.nested_scales = Buffer::allocate(4);
  EXPECT_THROW(t.validate("w"), FormatError);
}

TEST(ScaleReader, DecodesEveryEncodingLikeScaleAt) {
  QuantizedTensor t;
  t.format = QuantFormat::affine(8, 0, true);
  t.shape = {2, 4};
  t.codes = Buffer::allocate(8);
  t.scales = Buffer::allocate(4);
  const uint16_t halves[2] = {0x3C00, 0xC000};  // 1.0, -2.0
  std::memcpy(t.scales.mutable_data(), halves, 4);
  const ScaleReader r = ScaleReader::of(t);
  EXPECT_EQ(r.encoding, ScaleEncoding::f16);
  EXPECT_EQ(r.at(0), 1.0f);
  EXPECT_EQ(r.at(1), -2.0f);
  EXPECT_EQ(scale_at(t, 1), -2.0f);
  float out[2];
  r.read(0, 2, out);
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], -2.0f);
}

}  // namespace
}  // namespace lowbit
