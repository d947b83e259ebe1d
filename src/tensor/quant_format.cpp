// SPDX-License-Identifier: MIT
// QuantFormat constructors, validation and size arithmetic.
#include "tensor/quant_format.h"

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
  switch (f.kind) {
    case QuantKind::f32:
      LB_CHECK_ARG(f.bits == 32, "format f32 must have 32 bits");
      return;
    case QuantKind::f16:
    case QuantKind::bf16:
      LB_CHECK_ARG(f.bits == 16, "format ", kind_name(f.kind), " must have 16 bits");
      return;
    case QuantKind::affine_int:
      LB_CHECK_ARG(f.bits >= 2 && f.bits <= 8, "integer bits must be 2..8, got ", f.bits);
      LB_CHECK_ARG(f.group_size >= kPerTensor,
                   "group size must be > 0, 0 (per-channel) or -1 "
                   "(per-tensor), got ",
                   f.group_size);
      LB_CHECK_ARG(f.scale_dtype == DType::f16 || f.scale_dtype == DType::f32,
                   "integer scales must be f16 or f32");
      return;
    case QuantKind::nf4:
      LB_CHECK_ARG(f.bits == 4, "nf4 has 4 bits");
      LB_CHECK_ARG(f.group_size > 0, "nf4 needs a block size > 0");
      LB_CHECK_ARG(f.scale_dtype == DType::f32, "nf4 absmax is f32");
      return;
    case QuantKind::fp8_e4m3:
    case QuantKind::fp8_e5m2:
      LB_CHECK_ARG(f.bits == 8, "fp8 has 8 bits");
      LB_CHECK_ARG(f.group_size == kPerChannel || f.group_size == kPerTensor,
                   "fp8 scales are per-channel or per-tensor");
      return;
  }
  throw InvalidArgument("unknown quantization kind");
}

std::string format_name(const QuantFormat& f) {
  auto granularity = [&]() -> std::string {
    if (f.group_size == kPerChannel) return "per-channel";
    if (f.group_size == kPerTensor) return "per-tensor";
    return concat("g", f.group_size);
  };
  switch (f.kind) {
    case QuantKind::affine_int:
      return concat("int", f.bits, " ", granularity(), f.symmetric ? " sym" : " asym");
    case QuantKind::nf4:
      return concat("nf4 b", f.group_size, f.double_quant ? " dq" : "");
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
  size_t bytes = row_bytes(f, cols) * static_cast<size_t>(rows);
  const auto n_scales = static_cast<size_t>(scale_count(f, rows, cols));
  if (f.kind == QuantKind::nf4 && f.double_quant) {
    bytes += n_scales;                    // u8 scale codes
    bytes += (n_scales + 255) / 256 * 4;  // f32 nested scales
    bytes += 4;                           // f32 nested offset
  } else {
    bytes += n_scales * dtype_size(f.scale_dtype);
  }
  if (f.has_zeros()) bytes += n_scales * 2;  // f16 zero-points
  return bytes;
}

double bits_per_weight(const QuantFormat& f, int64_t rows, int64_t cols) {
  const double n = static_cast<double>(rows) * static_cast<double>(cols);
  return n == 0 ? 0.0 : 8.0 * static_cast<double>(storage_bytes(f, rows, cols)) / n;
}

}  // namespace lowbit
