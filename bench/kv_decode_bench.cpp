// SPDX-License-Identifier: MIT
// Decode speed with a long context in each KV-cache format: one token at position 2,000 after a
// 2,000-token prefill, so attention reads 2,000 cached keys and values per layer, with a
// vs_f32 ratio against the f32 cache timed earlier in the same process.
//
// Cases, in run order: kv_decode/<dtype> for f32 (first, the baseline), f16, bf16, int8, int4
// (KIVI), int4-naive, fp8, fp8-e5m2. Each builds its cache by prefilling 2,000 deterministic
// tokens (in chunks of 500) and then times only forward() of one token at position 2,000,
// rewriting that cache row on every iteration. vs_f32 is f32's time per iteration divided by
// this case's, left out when f32 has not run in this invocation. kv_bytes is the cache's
// allocation for 2,001 positions, scales included.
//
// Environment: LOWBIT_BENCH_MODEL (a model path; default: the real SmolLM2-135M GGUF under
// $LOWBIT_DATA_DIR or ../shared/data, else a synthetic model of its shape),
// LOWBIT_BENCH_THREADS (default 1), LOWBIT_BENCH_POSITION (default 2000), LOWBIT_ISA.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bench_common.h"
#include "io/model_source.h"
#include "kernels/exec_context.h"
#include "kernels/kv_format.h"
#include "model/llama_model.h"
#include "ptq/model_loader.h"
#include "ptq/synthetic_model.h"

namespace lowbit {
namespace {

using bench::env_or;
using bench::exec_context;

constexpr int64_t kChunk = 500;  // prefill chunk

// The real SmolLM2 under $LOWBIT_DATA_DIR (default ../shared/data from the working
// directory), or empty when it is not there.
std::string default_model() {
  const std::filesystem::path real =
      std::filesystem::path(env_or("LOWBIT_DATA_DIR", "../shared/data")) /
      "smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf";
  return std::filesystem::exists(real) ? real.string() : std::string();
}

struct Loaded {
  std::string name;
  ModelSource source;  // owns the mapped bytes the model borrows
  std::unique_ptr<model::LlamaModel> model;
};

// Tokens in the cache when the timed token is decoded: LOWBIT_BENCH_POSITION, default 2,000
// (CI's smoke run uses a short one).
int64_t position() {
  const int64_t p = std::atoll(env_or("LOWBIT_BENCH_POSITION", "2000").c_str());
  return p > 0 ? p : 2000;
}

const Loaded& loaded() {
  static const Loaded l = [] {
    Loaded out;
    const std::string path = env_or("LOWBIT_BENCH_MODEL", default_model());
    if (path.empty()) {
      ptq::SyntheticModel m = ptq::make_synthetic_model(ptq::synthetic_preset("smollm2-135m"));
      out.source.config = std::move(m.config);
      out.source.tensors = std::move(m.tensors);
      out.source.format = "synthetic";
      out.name = "synthetic SmolLM2-135M shape";
    } else {
      out.source = load_model_source(path, std::nullopt, /*load_tokenizer=*/false);
      out.name = std::filesystem::path(path).filename().string();
    }
    out.model = ptq::build_model(out.source.config, out.source.tensors);
    return out;
  }();
  return l;
}

double& f32_seconds() {
  static double seconds = 0;
  return seconds;
}

void kv_decode_bench(benchmark::State& state, kernels::KvDtype dtype) {
  kernels::ExecContext& ctx = exec_context();
  const model::LlamaModel& m = *loaded().model;
  const int64_t vocab = m.config().vocab_size;
  kernels::KvFormat format;
  format.dtype = dtype;
  model::KvCache cache = m.make_cache(position() + 1, format);

  std::vector<int32_t> tokens(static_cast<size_t>(position() + 1));
  for (int64_t i = 0; i <= position(); ++i)
    tokens[static_cast<size_t>(i)] = static_cast<int32_t>((1 + i * 7919) % vocab);
  std::vector<float> logits(static_cast<size_t>(kChunk * vocab));
  for (int64_t p = 0; p < position(); p += kChunk) {
    const int64_t n = std::min(kChunk, position() - p);
    m.forward(
        std::span<const int32_t>(tokens).subspan(static_cast<size_t>(p), static_cast<size_t>(n)), p,
        cache, logits.data(), ctx);
  }
  const int32_t next[1] = {tokens.back()};

  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    m.forward(next, position(), cache, logits.data(), ctx);
    benchmark::DoNotOptimize(logits.data());
    benchmark::ClobberMemory();
  }
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  const double per_iter = elapsed.count() / static_cast<double>(state.iterations());

  state.counters["tokens/s"] =
      benchmark::Counter(1.0, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["kv_bytes"] =
      benchmark::Counter(static_cast<double>(cache.bytes()), benchmark::Counter::kDefaults,
                         benchmark::Counter::kIs1024);
  if (dtype == kernels::KvDtype::f32) f32_seconds() = per_iter;
  if (f32_seconds() > 0 && per_iter > 0) state.counters["vs_f32"] = f32_seconds() / per_iter;
  state.SetLabel(loaded().name + ", position " + std::to_string(position()) + ", " +
                 std::to_string(ctx.threads()) + " thread(s), isa " + kernels::isa_name(ctx.isa));
}

void register_all() {
  for (const kernels::KvDtype dtype : kernels::kv_dtypes()) {
    benchmark::RegisterBenchmark(
        ("kv_decode/" + std::string(kernels::kv_dtype_name(dtype))).c_str(), kv_decode_bench, dtype)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
}

const bool registered = (register_all(), true);

}  // namespace
}  // namespace lowbit

BENCHMARK_MAIN();
