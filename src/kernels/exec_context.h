// SPDX-License-Identifier: MIT
// ExecContext: the thread pool, instruction set (and later device and scratch) passed down
// explicitly to kernels.
#pragma once

#include <cstdint>
#include <memory>

#include "util/thread_pool.h"

namespace lowbit::kernels {

// Instruction sets with their own kernel paths, lowest first. scalar is portable C++ (cpu/ref);
// avx2 also needs FMA and F16C (cpu/avx2); avx512 is avx2 plus AVX-512F/BW/VL and AVX512_VNNI
// (cpu/avx512). Tables without an avx512 path of their own use their avx2 one for it.
enum class Isa : uint8_t { scalar, avx2, avx512 };

// The best Isa this CPU runs, lowered to $LOWBIT_ISA (scalar|avx2|avx512) when that is set; asking
// for more than the CPU has gives what it has. Throws InvalidArgument on an unknown name.
Isa detect_isa();
const char* isa_name(Isa isa);

// Counters kernels keep for reports (written by the calling thread, never inside tasks).
struct KernelStats {
  // LLM.int8() linears: calls, input columns seen and columns routed through f32.
  int64_t outlier_split_calls = 0;
  int64_t outlier_split_columns = 0;
  int64_t outlier_split_routed = 0;
};

struct ExecContext {
  // Also sets OpenBLAS to one thread: linear calls sgemm from inside our own parallel regions,
  // where BLAS threads would only oversubscribe the cores.
  explicit ExecContext(int threads = 1);
  std::shared_ptr<ThreadPool> pool;
  // The highest Isa kernels may use; tests lower it to check every path against the reference.
  Isa isa = Isa::scalar;
  // Weight-only 4- and 8-bit integer linears quantize their input to int8 blocks of 32 and use
  // integer products (cpu/block_q8.h): the fast path, as llama.cpp runs. Off, every weight-only
  // linear multiplies f32 activations by the decoded weights (the accuracy reference).
  bool int8_activations = false;
  KernelStats stats;
  int threads() const { return pool->size(); }
};

}  // namespace lowbit::kernels
