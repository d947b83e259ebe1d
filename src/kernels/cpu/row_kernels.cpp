// SPDX-License-Identifier: MIT
// The row kernel table of each Isa.
#include "kernels/cpu/row_kernels.h"

namespace lowbit::kernels::cpu {

const RowKernels& row_kernels(Isa isa) {
  static const RowKernels scalar{&ref::dot_rows, &ref::decode_rows};
#if defined(__x86_64__)
  static const RowKernels avx2_table{&avx2::dot_rows, &avx2::decode_rows};
  if (isa >= Isa::avx2) return avx2_table;  // avx512 has no row kernels of its own yet
#else
  (void)isa;
#endif
  return scalar;
}

}  // namespace lowbit::kernels::cpu
