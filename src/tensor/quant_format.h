// SPDX-License-Identifier: MIT
// QuantFormat: how one stored weight tensor is encoded. A small value type, not a hierarchy;
// dense f32/f16/bf16 are formats too, so every weight is a QuantizedTensor.
//
// Bit layouts (also in docs/FORMATS.md). A weight is [rows = out_features, cols = in_features],
// row-major. Groups run along cols: group_size > 0 gives ceil(cols / group_size) groups per row
// (the last one ragged when cols is not a multiple; a group wider than the row is one group per
// row); group_size 0 is per-channel (one group per row); group_size -1 is per-tensor (one group).
//
//  kind        codes (per row, rows back to back, row stride = row_bytes())
//  ----------  ---------------------------------------------------------------------------------
//  f32/f16/bf16  little-endian elements
//  affine_int  `bits` (2..8) per element, a dense little-endian bit stream per row: element i
//              occupies bits [i*bits, (i+1)*bits) of the row, byte k holding stream bits 8k..8k+7
//              (so for 4 bits element 2j is the low nibble of byte j). Each row starts on a byte
//              boundary. Codes are unsigned q in [0, 2^bits - 1]; w = scale * (q - zero), where
//              zero is the stored f16 zero-point (asymmetric) or 2^(bits-1) (symmetric).
//              With min_offset (ggml's Q4_1/Q5_1 form) the f16 entry is an offset added after
//              scaling instead: w = scale * q + min, two roundings (the product, then the sum).
//              With k_quant (ggml's Q4_K / Q5_K / Q6_K) scales and mins are two-level, held as
//              ggml's own bytes per super-block of 256 in `scales` (tensor/k_quant.h); no
//              `zeros` buffer.
//  nf4         4-bit codes packed as affine_int bits=4; w = absmax * kNf4Codebook[q].
//              group_size is the block (64 by default). absmax is the f32 `scales` entry, or
//              with double quantization an u8 code: absmax = nested_offset +
//              nested_scales[i / 256] * (code - 128), i the flat index of the scale.
//  fp8_e4m3/e5m2  one byte per element (OCP E4M3FN / E5M2 codes); w = scale * fp8(q).
//  iq4_nl      4-bit codes packed as affine_int bits=4; w = scale * kIq4NlValues[q]
//              (numerics/iq4_nl.h: llama.cpp's 16 non-uniform int8 levels); group_size is the
//              block (32 for GGUF's IQ4_NL), f16 scales.
//  trellis     bitshift trellis codes (QTIP) of the input-rotated weight W' = W·R
//              (numerics/rotation.h, seed kTrellisRotationSeed): `bits` = k bits per weight,
//              `state_bits` = L. NOT row-major: each column of W' is cut into runs of 256 rows,
//              each run one bit stream of L + (n-1)·k bits (numerics/trellis_code.h); the
//              streams of run j are back to back in column order, runs back to back. W'(r, c) =
//              scale_r · trellis_value(state), one f16 scale per row (per-channel); the
//              weight is W = W'·R^T (each decoded row is un-rotated). The kernels rotate the
//              input instead: W·x = W'·(R^T·x).
//
// scales: [rows, groups_per_row] (per-tensor: [1]) in scale_dtype. zeros: same shape, f16,
// present only for asymmetric affine_int.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "tensor/dtype.h"

namespace lowbit {

enum class QuantKind : uint8_t {
  f32,
  f16,
  bf16,
  affine_int,
  nf4,
  fp8_e4m3,
  fp8_e5m2,
  iq4_nl,
  trellis
};

inline constexpr int kPerChannel = 0;
inline constexpr int kPerTensor = -1;

struct QuantFormat {
  QuantKind kind = QuantKind::f32;
  int bits = 32;                 // bits of one code or element
  int group_size = kPerChannel;  // see the header comment
  bool symmetric = true;         // affine_int: no stored zero-point
  DType scale_dtype = DType::f32;
  bool double_quant = false;  // nf4: scales quantized to u8 in blocks of 256
  bool min_offset = false;    // asymmetric affine_int: `zeros` holds an additive min (see above)
  bool k_quant = false;       // affine_int in ggml's k-quant super-blocks (see above)
  int state_bits = 0;         // trellis: L, the trellis state's bits (0 for every other kind)

  bool is_dense() const {
    return kind == QuantKind::f32 || kind == QuantKind::f16 || kind == QuantKind::bf16;
  }
  // Whether a `zeros` buffer holds per-group zero-points (or mins); k-quants keep theirs in
  // the super-block scale bytes.
  bool has_zeros() const { return kind == QuantKind::affine_int && !symmetric && !k_quant; }
  bool operator==(const QuantFormat&) const = default;

  // Dense formats.
  static QuantFormat dense(QuantKind kind);
  // Integer affine format; scale and zero-point in f16.
  static QuantFormat affine(int bits, int group_size, bool symmetric);
  // Integer codes with an f16 scale and an f16 additive min per group: w = scale * q + min.
  static QuantFormat affine_min(int bits, int group_size);
  static QuantFormat nf4(int block = 64, bool double_quant = false);
  // fp8 with per-channel (group_size 0) or per-tensor (-1) f32 scale.
  static QuantFormat fp8(QuantKind kind, int group_size = kPerChannel);
  // IQ4_NL codebook codes in blocks of `block` with an f16 scale each.
  static QuantFormat iq4_nl(int block = 32);
  // ggml's Q4_K (bits 4), Q5_K (5) or Q6_K (6) super-blocks.
  static QuantFormat k_quant_of(int bits);
  // Trellis codes, `bits` per weight, `state_bits` state bits, an f16 scale per row.
  static QuantFormat trellis(int bits, int state_bits);
};

// Throws InvalidArgument when the combination of fields is not a valid format. The accepted
// combinations, and nothing else:
//   f32 (bits 32), f16 / bf16 (bits 16): group_size 0, symmetric, scale_dtype f32, no double_quant
//   affine_int: bits 2..8, group_size > 0 / 0 / -1, scale_dtype f16 or f32, no double_quant;
//               min_offset only when asymmetric; k_quant only as k_quant_of(4 / 5 / 6) makes it
//   nf4: bits 4, group_size > 0, symmetric, scale_dtype f32, double_quant true or false
//   fp8_e4m3 / fp8_e5m2: bits 8, group_size 0 or -1, symmetric, scale_dtype f32, no double_quant
//   iq4_nl: bits 4, group_size > 0, symmetric, scale_dtype f16, no double_quant
//   trellis: bits 2..8, state_bits bits + 1 .. 16, group_size 0, symmetric, scale_dtype f16
//   (state_bits is 0 for every kind but trellis)
void validate_format(const QuantFormat& format);

// How one scale entry is stored: nothing (dense), an f16 or f32 value, or (nf4 double
// quantization) an u8 code decoded through the f32 nested scales.
// k_super: ggml's k-quant super-block bytes (tensor/k_quant.h).
enum class ScaleEncoding : uint8_t { none, f16, f32, nested_u8, k_super };
ScaleEncoding scale_encoding(const QuantFormat& format);
// The DType of the scales buffer (u8 for nested codes); only for formats with scales.
DType stored_scale_dtype(const QuantFormat& format);

// Byte sizes of every buffer of a [rows, cols] tensor in a format. buffer_sizes() is the only
// place these are computed: validation, kernels, writers and storage figures all use it.
struct BufferSizes {
  size_t codes = 0;
  size_t scales = 0;
  size_t zeros = 0;          // f16 zero-points (asymmetric affine_int)
  size_t nested_scales = 0;  // f32 nested scales (nf4 double quant)
  size_t nested_offset = 0;  // the f32 nested offset, stored outside the buffers (4 or 0)
  size_t total() const { return codes + scales + zeros + nested_scales + nested_offset; }
};
// Throws InvalidArgument (validate_format) for an invalid format, or for a k-quant whose rows
// are not whole super-blocks of 256.
BufferSizes buffer_sizes(const QuantFormat& format, int64_t rows, int64_t cols);
// A short readable name: "f32", "int4 g128 asym", "int4 g32 min", "nf4 b64 dq", "fp8_e4m3
// per-channel".
std::string format_name(const QuantFormat& format);
std::string kind_name(QuantKind kind);
// The DType of one stored element of `kind` (f32, f16, bf16, f8_e4m3, f8_e5m2), or nullopt for
// packed integer and NF4 codes.
std::optional<DType> element_dtype(QuantKind kind);

// Groups per row for a row of `cols` elements (1 for per-channel and per-tensor).
int64_t groups_per_row(const QuantFormat& format, int64_t cols);
// Bytes of one packed row of codes (row-major kinds; a trellis tensor's codes are not rows:
// buffer_sizes() has their size).
size_t row_bytes(const QuantFormat& format, int64_t cols);
// Number of scale entries for a [rows, cols] tensor.
int64_t scale_count(const QuantFormat& format, int64_t rows, int64_t cols);
// Exact bits per weight of a [rows, cols] tensor: codes + scales + zero-points (+ nested
// scales), as stored.
double bits_per_weight(const QuantFormat& format, int64_t rows, int64_t cols);
// Total stored bytes of a [rows, cols] tensor in this format.
size_t storage_bytes(const QuantFormat& format, int64_t rows, int64_t cols);

}  // namespace lowbit
