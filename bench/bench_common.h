// SPDX-License-Identifier: MIT
// Environment and execution context shared by the model benchmarks.
#pragma once

#include <cstdlib>
#include <string>

#include "kernels/exec_context.h"

namespace lowbit::bench {

inline std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

// LOWBIT_BENCH_THREADS, default 1.
inline int thread_count() {
  const int n = std::atoi(env_or("LOWBIT_BENCH_THREADS", "1").c_str());
  return n > 0 ? n : 1;
}

// One context for the whole run (its Isa honours LOWBIT_ISA).
inline kernels::ExecContext& exec_context() {
  static kernels::ExecContext ctx(thread_count());
  return ctx;
}

}  // namespace lowbit::bench
