// SPDX-License-Identifier: MIT
// ExecContext construction and CPU feature detection.
#include "kernels/exec_context.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include <cstdlib>
#include <string_view>

#include "numerics/linalg.h"
#include "util/check.h"

namespace lowbit::kernels {

namespace {

Isa cpu_isa() {
#if defined(__x86_64__)
  // __builtin_cpu_supports also checks that the OS saves ymm state; F16C (CPUID.1:ECX bit 29)
  // is not among the names every compiler accepts, so it is read directly.
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29)) != 0;
  if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c)) {
    return Isa::scalar;
  }
  // __builtin_cpu_supports also checks that the OS saves the zmm and mask state.
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni")) {
    return Isa::avx512;
  }
  return Isa::avx2;
#else
  return Isa::scalar;
#endif
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar:
      return "scalar";
    case Isa::avx2:
      return "avx2";
    case Isa::avx512:
      return "avx512";
  }
  return "?";
}

Isa detect_isa() {
  const Isa best = cpu_isa();
  const char* forced = std::getenv("LOWBIT_ISA");
  if (forced == nullptr || *forced == '\0') return best;
  const std::string_view name(forced);
  Isa want;
  if (name == "scalar") {
    want = Isa::scalar;
  } else if (name == "avx2") {
    want = Isa::avx2;
  } else if (name == "avx512") {
    want = Isa::avx512;
  } else {
    throw InvalidArgument(concat("LOWBIT_ISA must be scalar, avx2 or avx512, got '", name, "'"));
  }
  return want < best ? want : best;
}

ExecContext::ExecContext(int threads)
    : pool(std::make_shared<ThreadPool>(threads)), isa(detect_isa()) {
  set_blas_threads(1);
}

}  // namespace lowbit::kernels
