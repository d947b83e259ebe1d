// SPDX-License-Identifier: MIT
// ggml tensor types as GGUF stores them: the type table (block size and bytes per block), the
// re-packing of the three types lowbit holds packed, and one decoder per type that lowbit
// dequantizes to f32. docs/FORMATS.md (section 4, GGUF) has every block layout and formula.
//
// A ggml row of ne0 elements is ne0 / block consecutive blocks, and rows are back to back, so
// a tensor is just `numel / block` blocks in a row; the functions here work on runs of blocks.
// Decoded values are computed in f32 in the order the formulas are written (products left to
// right, then the one addition), which is how ggml and gguf-py evaluate them; the build does not
// contract a*b+c into an FMA (ISO C++ mode gives -ffp-contract=off), so results are bit-exact.
#pragma once

#include <cstddef>
#include <cstdint>

#include <string_view>
#include "tensor/quant_format.h"

namespace lowbit::io {

// ggml type ids (ggml.h) that lowbit reads.
inline constexpr uint32_t kGgmlF32 = 0;
inline constexpr uint32_t kGgmlF16 = 1;
inline constexpr uint32_t kGgmlQ4_0 = 2;
inline constexpr uint32_t kGgmlQ4_1 = 3;
inline constexpr uint32_t kGgmlQ5_0 = 6;
inline constexpr uint32_t kGgmlQ5_1 = 7;
inline constexpr uint32_t kGgmlQ8_0 = 8;
inline constexpr uint32_t kGgmlQ2_K = 10;
inline constexpr uint32_t kGgmlQ3_K = 11;
inline constexpr uint32_t kGgmlQ4_K = 12;
inline constexpr uint32_t kGgmlQ5_K = 13;
inline constexpr uint32_t kGgmlQ6_K = 14;
inline constexpr uint32_t kGgmlIQ4_NL = 20;
inline constexpr uint32_t kGgmlIQ4_XS = 23;
inline constexpr uint32_t kGgmlBF16 = 30;
inline constexpr uint32_t kGgmlTQ1_0 = 34;
inline constexpr uint32_t kGgmlTQ2_0 = 35;
inline constexpr uint32_t kGgmlMXFP4 = 39;

struct GgmlType {
  uint32_t id;
  std::string_view name;  // "Q4_K"
  uint32_t block;         // elements per block
  uint32_t bytes;         // bytes per block
};

// Every type id ggml defines with a block size (removed ids and unknown ids give nullptr), so
// open() can bound any tensor's bytes, even one of a type lowbit does not decode.
const GgmlType* ggml_type(uint32_t id);

// Decodes `n_blocks` consecutive blocks at `src` into n_blocks * block floats at `dst`.
using GgmlDecoder = void (*)(const uint8_t* src, size_t n_blocks, float* dst);
// The f32 decoder of a quantized type (Q4_1, Q5_1, Q2_K..Q6_K, IQ4_NL, IQ4_XS, TQ1_0, TQ2_0,
// MXFP4; those ggml_packed_bits does not hold are dequantized at load); nullptr otherwise.
GgmlDecoder ggml_decoder(uint32_t type);

// Bits of the lowbit g32 format that holds `type` exactly: 8 for Q8_0, 4 for Q4_0, Q4_1 and
// IQ4_NL (lowbit's iq4_nl kind), 5 for Q5_0 and Q5_1; 0 for any other type.
int ggml_packed_bits(uint32_t type);
// Bits of a k-quant type lowbit holds packed (k_quant formats, tensor/k_quant.h): 4 for Q4_K,
// 5 for Q5_K, 6 for Q6_K; 0 for any other type.
int ggml_k_bits(uint32_t type);
// Whether `type` is ggml's min form (Q4_1, Q5_1: y = d*q + m), held as lowbit's min-offset
// affine format; the others ggml_packed_bits holds are symmetric (y = d*(q - 2^(bits-1))).
bool ggml_min_form(uint32_t type);
// The lowbit format that holds `type` bit for bit (ggml_packed_bits or ggml_k_bits != 0).
QuantFormat ggml_packed_format(uint32_t type);
// Re-packs `n_blocks` blocks of a type with ggml_packed_bits(type) = bits into lowbit's layout:
// `codes` receives 4 * bits bytes per block (32 codes of the dense bit stream: q + 2^(bits-1)
// for the symmetric types, q for the min form), `scales` the block's f16 d and, for the min form,
// `mins` its f16 m, 2 bytes per block each, copied bit for bit (mins is unused otherwise). Because
// a row is a whole number of blocks and 32 * bits is a whole number of bytes, the blocks' codes
// laid end to end are exactly the rows of lowbit's codes buffer.
void repack_ggml_blocks(uint32_t type, const uint8_t* src, size_t n_blocks, uint8_t* codes,
                        uint8_t* scales, uint8_t* mins);
// The inverse, for the GGUF writer: `n_blocks` blocks of lowbit codes (4 * bits bytes each, the
// dense bit stream as above), f16 scales and (min form) f16 mins, 2 bytes each, become ggml blocks
// of `type` at `dst` (ggml_type(type)->bytes each), d and m copied bit for bit.
// repack_ggml_blocks(pack_ggml_blocks(x)) == x for every code, scale and min.
void pack_ggml_blocks(uint32_t type, const uint8_t* codes, const uint8_t* scales,
                      const uint8_t* mins, size_t n_blocks, uint8_t* dst);

// The k-quants (ggml_k_bits(type) != 0): `n_blocks` super-blocks of 256 become 32 * bits code
// bytes each (lowbit's dense bit stream, Q6_K's codes q in 0..63 with zero 32) and
// k_super_bytes(bits) scale bytes each, ggml's own: Q4_K / Q5_K's d, dmin and scales[12], Q6_K's
// scales[16] and d. pack_ggml_k_blocks is the inverse.
void repack_ggml_k_blocks(uint32_t type, const uint8_t* src, size_t n_blocks, uint8_t* codes,
                          uint8_t* scales);
void pack_ggml_k_blocks(uint32_t type, const uint8_t* codes, const uint8_t* scales, size_t n_blocks,
                        uint8_t* dst);

}  // namespace lowbit::io
