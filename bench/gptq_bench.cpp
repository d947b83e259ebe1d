// SPDX-License-Identifier: MIT
// The GPTQ solve of one N x N layer (w4g128, Hessian given: factorization + sweep + packing)
// against one N^3 f32 GEMM (cblas_sgemm) on the same threads, timed back to back in each
// iteration; `ratio` = GPTQ time / GEMM time (issue 8's goal: <= 2 at N = 4096).
// N = 1024 always runs (the CI smoke run); N = 4096 needs LOWBIT_BENCH_GPTQ_4096=1, since
// building its Hessian and one iteration take tens of seconds on a small machine.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "numerics/linalg.h"
#include "quant/gptq.h"

namespace lowbit::quant {
namespace {

struct Layer {
  std::vector<float> w;
  std::vector<double> h;
  std::vector<float> a, b, c;  // GEMM operands
};

// H = 2 X^T X / n over n = N + N/2 correlated rows (SPD), and normal weights.
Layer make_layer(int64_t n_cols) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t n = n_cols + n_cols / 2;
  Layer l;
  std::vector<float> x(static_cast<size_t>(n * n_cols));
  for (auto& v : x) v = normal(rng);
  for (int64_t t = 1; t < n; ++t)  // correlate consecutive rows a little
    for (int64_t j = 0; j < n_cols; ++j)
      x[static_cast<size_t>(t * n_cols + j)] += 0.5f * x[static_cast<size_t>((t - 1) * n_cols + j)];
  std::vector<float> hf(static_cast<size_t>(n_cols * n_cols));
  sgemm(true, false, n_cols, n_cols, n, 2.0f / static_cast<float>(n), x.data(), n_cols, x.data(),
        n_cols, 0.0f, hf.data(), n_cols);
  l.h.assign(hf.begin(), hf.end());
  l.w.resize(static_cast<size_t>(n_cols * n_cols));
  for (auto& v : l.w) v = 0.02f * normal(rng);
  l.a.resize(l.w.size());
  l.b.resize(l.w.size());
  l.c.resize(l.w.size());
  for (auto& v : l.a) v = normal(rng);
  for (auto& v : l.b) v = normal(rng);
  return l;
}

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Args: N, threads. The reported time is GPTQ's.
void gptq_vs_gemm(benchmark::State& state) {
  const int64_t n = state.range(0);
  const int threads = static_cast<int>(state.range(1));
  set_blas_threads(threads);
  ThreadPool pool(threads);
  const Layer l = make_layer(n);
  Layer scratch;
  scratch.c.resize(l.c.size());
  GptqOptions options;
  options.pool = &pool;
  const QuantFormat format = QuantFormat::affine(4, 128, false);
  double gptq_s = 0.0, gemm_s = 0.0;
  for (auto _ : state) {
    auto t0 = Clock::now();
    sgemm(false, false, n, n, n, 1.0f, l.a.data(), n, l.b.data(), n, 0.0f, scratch.c.data(), n);
    benchmark::DoNotOptimize(scratch.c.data());
    gemm_s += seconds_since(t0);
    t0 = Clock::now();
    GptqResult r = quantize_gptq(l.w.data(), n, n, l.h.data(), format, options, "bench");
    benchmark::DoNotOptimize(r.weight.codes.data());
    const double s = seconds_since(t0);
    gptq_s += s;
    state.SetIterationTime(s);
  }
  state.counters["gemm_ms"] = 1e3 * gemm_s / static_cast<double>(state.iterations());
  state.counters["ratio"] = gptq_s / gemm_s;
  set_blas_threads(1);
}

void register_all() {
  auto* small = benchmark::RegisterBenchmark("gptq_w4g128_vs_sgemm", gptq_vs_gemm);
  small->ArgNames({"N", "threads"})->Args({1024, 1})->Args({1024, 2});
  const char* large = std::getenv("LOWBIT_BENCH_GPTQ_4096");
  if (large != nullptr && std::string(large) == "1") small->Args({4096, 1})->Args({4096, 2});
  small->UseManualTime()->Unit(benchmark::kMillisecond);
}

const bool registered = (register_all(), true);

}  // namespace
}  // namespace lowbit::quant

BENCHMARK_MAIN();
