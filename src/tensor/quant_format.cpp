// SPDX-License-Identifier: MIT
// QuantFormat constructors, validation and size arithmetic.
#include "tensor/quant_format.h"

#include "numerics/trellis_code.h"
#include "tensor/k_quant.h"
#include "util/check.h"

namespace lowbit {

QuantFormat QuantFormat::dense(QuantKind kind) {
  QuantFormat f;
  f.kind = kind;
  f.bits = kind == QuantKind::f32 ? 32 : 16;
  f.group_size = kPerChannel;
  f.scale_dtype = DType::f32;
  return f;
}

QuantFormat QuantFormat::affine(int bits, int group_size, bool symmetric) {
  QuantFormat f;
  f.kind = QuantKind::affine_int;
  f.bits = bits;
  f.group_size = group_size;
  f.symmetric = symmetric;
  f.scale_dtype = DType::f16;
  return f;
}

QuantFormat QuantFormat::affine_min(int bits, int group_size) {
  QuantFormat f = affine(bits, group_size, false);
  f.min_offset = true;
  return f;
}

QuantFormat QuantFormat::nf4(int block, bool double_quant) {
  QuantFormat f;
  f.kind = QuantKind::nf4;
  f.bits = 4;
  f.group_size = block;
  f.symmetric = true;
  f.scale_dtype = DType::f32;
  f.double_quant = double_quant;
  return f;
}

QuantFormat QuantFormat::fp8(QuantKind kind, int group_size) {
  QuantFormat f;
  f.kind = kind;
  f.bits = 8;
  f.group_size = group_size;
  f.symmetric = true;
  f.scale_dtype = DType::f32;
  return f;
}

QuantFormat QuantFormat::iq4_nl(int block) {
  QuantFormat f;
  f.kind = QuantKind::iq4_nl;
  f.bits = 4;
  f.group_size = block;
  f.symmetric = true;
  f.scale_dtype = DType::f16;
  return f;
}

QuantFormat QuantFormat::trellis(int bits, int state_bits) {
  QuantFormat f;
  f.kind = QuantKind::trellis;
  f.bits = bits;
  f.state_bits = state_bits;
  f.group_size = kPerChannel;
  f.symmetric = true;
  f.scale_dtype = DType::f16;
  return f;
}

QuantFormat QuantFormat::k_quant_of(int bits) {
  QuantFormat f = bits == 6 ? affine(6, 16, true) : affine_min(bits, 32);
  f.k_quant = true;
  return f;
}

std::string kind_name(QuantKind kind) {
  switch (kind) {
    case QuantKind::f32:
      return "f32";
    case QuantKind::f16:
      return "f16";
    case QuantKind::bf16:
      return "bf16";
    case QuantKind::affine_int:
      return "int";
    case QuantKind::nf4:
      return "nf4";
    case QuantKind::fp8_e4m3:
      return "fp8_e4m3";
    case QuantKind::fp8_e5m2:
      return "fp8_e5m2";
    case QuantKind::iq4_nl:
      return "iq4_nl";
    case QuantKind::trellis:
      return "trellis";
  }
  return "?";
}

std::optional<DType> element_dtype(QuantKind kind) {
  switch (kind) {
    case QuantKind::f32:
      return DType::f32;
    case QuantKind::f16:
      return DType::f16;
    case QuantKind::bf16:
      return DType::bf16;
    case QuantKind::fp8_e4m3:
      return DType::f8_e4m3;
    case QuantKind::fp8_e5m2:
      return DType::f8_e5m2;
    default:
      return std::nullopt;
  }
}

void validate_format(const QuantFormat& f) {
  const std::string name = kind_name(f.kind);
  auto expect_bits = [&](int bits) {
    LB_CHECK_ARG(f.bits == bits, "format ", name, " has ", bits, " bits, got ", f.bits);
  };
  auto expect_scale_dtype = [&](DType dtype) {
    LB_CHECK_ARG(f.scale_dtype == dtype, "format ", name, " has ", dtype_name(dtype),
                 " scales, got ", dtype_name(f.scale_dtype));
  };
  // Only nf4 stores its scales as nested u8 codes; every other kind reads them as scale_dtype.
  LB_CHECK_ARG(!f.double_quant || f.kind == QuantKind::nf4, "format ", name,
               " cannot be double-quantized (only nf4 can)");
  // Only affine_int stores zero-points.
  LB_CHECK_ARG(f.symmetric || f.kind == QuantKind::affine_int, "format ", name,
               " is always symmetric");
  LB_CHECK_ARG(!f.min_offset || (f.kind == QuantKind::affine_int && !f.symmetric), "format ", name,
               " has no additive min (only asymmetric integer formats do)");
  LB_CHECK_ARG(f.state_bits == 0 || f.kind == QuantKind::trellis, "format ", name,
               " has no trellis state bits, got ", f.state_bits);
  if (f.k_quant) {
    const bool q45 = (f.bits == 4 || f.bits == 5) && f.group_size == 32 && f.min_offset;
    const bool q6 = f.bits == 6 && f.group_size == 16 && f.symmetric;
    LB_CHECK_ARG(f.kind == QuantKind::affine_int && f.scale_dtype == DType::f16 && (q45 || q6),
                 "k-quant formats are Q4_K / Q5_K (4 / 5 bits, groups of 32, min form) or Q6_K "
                 "(6 bits, groups of 16, symmetric)");
  }
  switch (f.kind) {
    case QuantKind::f32:
    case QuantKind::f16:
    case QuantKind::bf16:
      expect_bits(f.kind == QuantKind::f32 ? 32 : 16);
      LB_CHECK_ARG(f.group_size == kPerChannel, "format ", name, " has no groups, got group size ",
                   f.group_size);
      expect_scale_dtype(DType::f32);
      return;
    case QuantKind::affine_int:
      LB_CHECK_ARG(f.bits >= 2 && f.bits <= 8, "integer bits must be 2..8, got ", f.bits);
      LB_CHECK_ARG(f.group_size >= kPerTensor,
                   "group size must be > 0, 0 (per-channel) or -1 (per-tensor), got ",
                   f.group_size);
      LB_CHECK_ARG(f.scale_dtype == DType::f16 || f.scale_dtype == DType::f32,
                   "integer scales must be F16 or F32, got ", dtype_name(f.scale_dtype));
      return;
    case QuantKind::nf4:
      expect_bits(4);
      LB_CHECK_ARG(f.group_size > 0, "nf4 needs a block size > 0, got ", f.group_size);
      expect_scale_dtype(DType::f32);
      return;
    case QuantKind::fp8_e4m3:
    case QuantKind::fp8_e5m2:
      expect_bits(8);
      LB_CHECK_ARG(f.group_size == kPerChannel || f.group_size == kPerTensor,
                   "fp8 scales are per-channel or per-tensor, got group size ", f.group_size);
      expect_scale_dtype(DType::f32);
      return;
    case QuantKind::iq4_nl:
      expect_bits(4);
      LB_CHECK_ARG(f.group_size > 0, "iq4_nl needs a block size > 0, got ", f.group_size);
      expect_scale_dtype(DType::f16);
      return;
    case QuantKind::trellis:
      LB_CHECK_ARG(f.bits >= 2 && f.bits <= 8, "trellis bits must be 2..8, got ", f.bits);
      LB_CHECK_ARG(f.state_bits > f.bits && f.state_bits <= kTrellisMaxStateBits,
                   "trellis state bits must be ", f.bits + 1, "..", kTrellisMaxStateBits, ", got ",
                   f.state_bits);
      LB_CHECK_ARG(f.group_size == kPerChannel, "trellis scales are per row, got group size ",
                   f.group_size);
      expect_scale_dtype(DType::f16);
      return;
  }
  throw InvalidArgument("unknown quantization kind");
}

ScaleEncoding scale_encoding(const QuantFormat& f) {
  if (f.is_dense()) return ScaleEncoding::none;
  if (f.k_quant) return ScaleEncoding::k_super;
  if (f.double_quant) return ScaleEncoding::nested_u8;
  return f.scale_dtype == DType::f16 ? ScaleEncoding::f16 : ScaleEncoding::f32;
}

DType stored_scale_dtype(const QuantFormat& f) {
  return f.double_quant || f.k_quant ? DType::u8 : f.scale_dtype;
}

BufferSizes buffer_sizes(const QuantFormat& f, int64_t rows, int64_t cols) {
  validate_format(f);
  BufferSizes sizes;
  sizes.codes = f.kind == QuantKind::trellis
                    ? static_cast<size_t>(trellis_codes_bytes(rows, cols, f.bits, f.state_bits))
                    : row_bytes(f, cols) * static_cast<size_t>(rows);
  const auto n = static_cast<size_t>(scale_count(f, rows, cols));
  switch (scale_encoding(f)) {
    case ScaleEncoding::none:
      return sizes;
    case ScaleEncoding::nested_u8:
      sizes.scales = n;                           // u8 codes
      sizes.nested_scales = (n + 255) / 256 * 4;  // one f32 per 256 codes
      sizes.nested_offset = 4;
      break;
    case ScaleEncoding::f16:
    case ScaleEncoding::f32:
      sizes.scales = n * dtype_size(f.scale_dtype);
      break;
    case ScaleEncoding::k_super:
      LB_CHECK_ARG(cols % kKSuper == 0, format_name(f), " rows must be whole super-blocks of ",
                   kKSuper, ", got ", cols, " columns");
      sizes.scales = static_cast<size_t>(rows * (cols / kKSuper) * k_super_bytes(f.bits));
      break;
  }
  if (f.has_zeros()) sizes.zeros = n * 2;  // f16 zero-points
  return sizes;
}

std::string format_name(const QuantFormat& f) {
  auto granularity = [&]() -> std::string {
    if (f.group_size == kPerChannel) return "per-channel";
    if (f.group_size == kPerTensor) return "per-tensor";
    return concat("g", f.group_size);
  };
  switch (f.kind) {
    case QuantKind::affine_int:
      if (f.k_quant) return concat("q", f.bits, "_k");
      return concat("int", f.bits, " ", granularity(),
                    f.symmetric ? " sym" : (f.min_offset ? " min" : " asym"));
    case QuantKind::nf4:
      return concat("nf4 b", f.group_size, f.double_quant ? " dq" : "");
    case QuantKind::iq4_nl:
      return concat("iq4_nl g", f.group_size);
    case QuantKind::trellis:
      return concat("trellis", f.bits, " L", f.state_bits);
    case QuantKind::fp8_e4m3:
    case QuantKind::fp8_e5m2:
      return concat(kind_name(f.kind), " ", granularity());
    default:
      return kind_name(f.kind);
  }
}

int64_t groups_per_row(const QuantFormat& f, int64_t cols) {
  if (f.is_dense() || f.group_size <= 0) return 1;
  return (cols + f.group_size - 1) / f.group_size;
}

size_t row_bytes(const QuantFormat& f, int64_t cols) {
  return static_cast<size_t>((cols * f.bits + 7) / 8);
}

int64_t scale_count(const QuantFormat& f, int64_t rows, int64_t cols) {
  if (f.is_dense()) return 0;
  if (f.group_size == kPerTensor) return 1;
  return rows * groups_per_row(f, cols);
}

size_t storage_bytes(const QuantFormat& f, int64_t rows, int64_t cols) {
  return buffer_sizes(f, rows, cols).total();
}

double bits_per_weight(const QuantFormat& f, int64_t rows, int64_t cols) {
  const double n = static_cast<double>(rows) * static_cast<double>(cols);
  return n == 0 ? 0.0 : 8.0 * static_cast<double>(storage_bytes(f, rows, cols)) / n;
}

}  // namespace lowbit
