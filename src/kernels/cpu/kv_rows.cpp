// SPDX-License-Identifier: MIT
// The KV row decoder table of each Isa.
#include "kernels/cpu/kv_rows.h"

namespace lowbit::kernels::cpu {

const KvRowDecoders& kv_row_decoders(Isa isa) {
#if defined(__x86_64__)
  // avx512 has no decoders of its own yet: it reads with the avx2 ones.
  if (isa >= Isa::avx2) return avx2::kv_row_decoders();
#else
  (void)isa;
#endif
  return ref::kv_row_decoders();
}

}  // namespace lowbit::kernels::cpu
