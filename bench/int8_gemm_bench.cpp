// SPDX-License-Identifier: MIT
// Native int8 products (W8A8) against f32 BLAS on the same shapes, as lowbit runs them: the
// output columns N split across the ExecContext pool with parallel_for, OpenBLAS single-threaded
// inside each task.
//   gemm: M = 512, N = K = 4096 (prefill-sized)  int8 quantize_rows_s8 + gemm vs cblas_sgemm
//   gemv: M = 1, N = 11008, K = 4096 (decode of an MLP up projection, 45 MB of int8 codes and
//         180 MB of f32, so neither stays in cache)  int8 vs cblas_sgemv
// GOPS counts 2*M*N*K per call. Each int8 run also reports f32_time / int8_time as "x_f32",
// against the f32 run of the same shape and thread count (registered, so run, just before it).
// The int8 timing includes quantizing the activations. LOWBIT_ISA picks the int8 path.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/cpu/int8_gemm.h"
#include "kernels/exec_context.h"
#include "numerics/linalg.h"

namespace lowbit::kernels {
namespace {

struct Shape {
  int64_t m, n, k;
};
constexpr Shape kGemm{512, 4096, 4096};
constexpr Shape kGemv{1, 11008, 4096};

// Rows of N per parallel_for index step: chunks stay whole register tiles.
constexpr int64_t kGrain = 64;

struct Operands {
  std::vector<float> x;        // [m, k]
  std::vector<float> w_f32;    // [n, k]
  std::vector<uint8_t> codes;  // [n, k], the same values quantized to 8-bit symmetric codes
  std::vector<float> w_scales;
};

const Operands& operands(const Shape& s) {
  static std::map<int64_t, Operands> cache;
  auto it = cache.find(s.m);
  if (it != cache.end()) return it->second;
  Operands ops;
  std::mt19937 rng(42);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> code(0, 255);
  ops.x.resize(static_cast<size_t>(s.m * s.k));
  for (auto& v : ops.x) v = normal(rng);
  ops.codes.resize(static_cast<size_t>(s.n * s.k));
  for (auto& c : ops.codes) c = static_cast<uint8_t>(code(rng));
  ops.w_scales.assign(static_cast<size_t>(s.n), 0.01f);
  ops.w_f32.resize(ops.codes.size());
  for (size_t i = 0; i < ops.codes.size(); ++i)
    ops.w_f32[i] = 0.01f * static_cast<float>(int{ops.codes[i]} - 128);
  return cache.emplace(s.m, std::move(ops)).first->second;
}

// Seconds per call of the f32 run of (shape, threads), for the int8 run's ratio.
std::map<std::tuple<int64_t, int64_t>, double>& f32_seconds() {
  static std::map<std::tuple<int64_t, int64_t>, double> times;
  return times;
}

void set_gops(benchmark::State& state, const Shape& s) {
  state.counters["GOPS"] = benchmark::Counter(2e-9 * static_cast<double>(s.m * s.n * s.k),
                                              benchmark::Counter::kIsIterationInvariantRate);
}

// Arg: threads.
void f32_bench(benchmark::State& state, Shape s) {
  ExecContext ctx(static_cast<int>(state.range(0)));
  const Operands& ops = operands(s);
  std::vector<float> y(static_cast<size_t>(s.m * s.n));
  double total = 0.0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    ctx.pool->parallel_for(0, s.n, kGrain, [&](int64_t j0, int64_t j1) {
      if (s.m == 1) {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(j1 - j0), static_cast<int>(s.k),
                    1.0f, ops.w_f32.data() + j0 * s.k, static_cast<int>(s.k), ops.x.data(), 1, 0.0f,
                    y.data() + j0, 1);
      } else {
        sgemm(false, true, s.m, j1 - j0, s.k, 1.0f, ops.x.data(), s.k, ops.w_f32.data() + j0 * s.k,
              s.k, 0.0f, y.data() + j0, s.n);
      }
    });
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
    total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  f32_seconds()[{s.m, state.range(0)}] = total / static_cast<double>(state.iterations());
  set_gops(state, s);
  state.SetLabel("cblas f32");
}

// Arg: threads.
void int8_bench(benchmark::State& state, Shape s) {
  ExecContext ctx(static_cast<int>(state.range(0)));
  const Operands& ops = operands(s);
  const cpu::Int8Kernels& kernels = cpu::int8_kernels(ctx.isa);
  std::vector<int8_t> q(static_cast<size_t>(s.m * s.k));
  std::vector<float> a_scales(static_cast<size_t>(s.m));
  std::vector<int32_t> a_sums(static_cast<size_t>(s.m));
  std::vector<float> y(static_cast<size_t>(s.m * s.n));
  double total = 0.0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    kernels.quantize_rows(ops.x.data(), s.m, s.k, 0.0f, q.data(), a_scales.data(), a_sums.data());
    ctx.pool->parallel_for(0, s.n, kGrain, [&](int64_t j0, int64_t j1) {
      kernels.gemm(q.data(), a_scales.data(), a_sums.data(), s.m, ops.codes.data(),
                   ops.w_scales.data(), j0, j1, s.k, y.data(), s.n);
    });
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
    total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  set_gops(state, s);
  const auto f32 = f32_seconds().find({s.m, state.range(0)});
  if (f32 != f32_seconds().end() && total > 0.0) {
    state.counters["x_f32"] = f32->second / (total / static_cast<double>(state.iterations()));
  }
  state.SetLabel(std::string("int8 ") + isa_name(ctx.isa));
}

void register_all() {
  for (int64_t threads : {1, 2}) {
    for (const auto& [name, s] : {std::pair{"gemm", kGemm}, std::pair{"gemv", kGemv}}) {
      const std::string suffix = std::string(name) + "/f32";
      benchmark::RegisterBenchmark(suffix.c_str(), f32_bench, s)
          ->ArgNames({"threads"})
          ->Arg(threads)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
      benchmark::RegisterBenchmark((std::string(name) + "/int8").c_str(), int8_bench, s)
          ->ArgNames({"threads"})
          ->Arg(threads)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  }
}

const bool registered = (register_all(), true);

}  // namespace
}  // namespace lowbit::kernels

BENCHMARK_MAIN();
