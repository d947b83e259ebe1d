// SPDX-License-Identifier: MIT
// The int8 product table of each Isa.
#include "kernels/cpu/int8_gemm.h"

namespace lowbit::kernels::cpu {

const Int8Kernels& int8_kernels(Isa isa) {
  static const Int8Kernels scalar{&ref::gemm_s8};
#if defined(__x86_64__)
  static const Int8Kernels avx2_table{&avx2::gemm_s8};
  static const Int8Kernels avx512_table{&avx512::gemm_s8};
  if (isa >= Isa::avx512) return avx512_table;
  if (isa == Isa::avx2) return avx2_table;
#else
  (void)isa;
#endif
  return scalar;
}

}  // namespace lowbit::kernels::cpu
