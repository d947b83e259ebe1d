// SPDX-License-Identifier: MIT
// The per-format row kernels under linear / embedding_lookup: one table per Isa. They take a
// WeightView and raw pointers, trust their inputs (checked in kernels.cpp) and never throw.
#pragma once

#include <cstdint>

#include "kernels/cpu/weight_view.h"
#include "kernels/exec_context.h"

namespace lowbit::kernels::cpu {

struct RowKernels {
  // y[r] = dot(row r of W, x[0, cols)) for r in [row_begin, row_end). Each y[r] is reduced in a
  // fixed order that depends only on the row, so results do not depend on how rows are split.
  void (*dot_rows)(const WeightView& w, const float* x, int64_t row_begin, int64_t row_end,
                   float* y);
  // Rows [row_begin, row_end) of W as f32 into out[(row_end - row_begin) * cols].
  void (*decode_rows)(const WeightView& w, int64_t row_begin, int64_t row_end, float* out);
};

// The table for `isa`.
const RowKernels& row_kernels(Isa isa);

namespace ref {
void dot_rows(const WeightView& w, const float* x, int64_t row_begin, int64_t row_end, float* y);
void decode_rows(const WeightView& w, int64_t row_begin, int64_t row_end, float* out);
// Codes [begin, begin + n) of a packed row of `bits`-bit codes (layout in quant_format.h), one
// byte each.
void unpack_codes(const uint8_t* row, int64_t begin, int64_t n, int bits, uint8_t* out);
}  // namespace ref

namespace avx2 {
void dot_rows(const WeightView& w, const float* x, int64_t row_begin, int64_t row_end, float* y);
void decode_rows(const WeightView& w, int64_t row_begin, int64_t row_end, float* out);
}  // namespace avx2

}  // namespace lowbit::kernels::cpu
