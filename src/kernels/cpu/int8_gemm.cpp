// SPDX-License-Identifier: MIT
// The int8 product table of each Isa.
#include "kernels/cpu/int8_gemm.h"

namespace lowbit::kernels::cpu {

const Int8Kernels& int8_kernels(Isa isa) {
  static const Int8Kernels scalar{&ref::gemm_s8, &quantize_rows_s8};
#if defined(__x86_64__)
  static const Int8Kernels avx2_table{&avx2::gemm_s8, &avx2::quantize_rows_s8};
  // Quantizing is a small part of a product; AVX2's is the avx512 table's too.
  static const Int8Kernels avx512_table{&avx512::gemm_s8, &avx2::quantize_rows_s8};
  if (isa >= Isa::avx512) return avx512_table;
  if (isa == Isa::avx2) return avx2_table;
#else
  (void)isa;
#endif
  return scalar;
}

}  // namespace lowbit::kernels::cpu
