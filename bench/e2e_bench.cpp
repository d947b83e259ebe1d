// SPDX-License-Identifier: MIT
// End-to-end prefill and decode throughput of a synthetic Llama model under each quantization
// scheme, with a vs_f32 speed ratio against the f32 case timed earlier in the same process.
//
// Cases, in run order: e2e/<scheme>/prefill (one forward over 128 tokens from position 0) and
// e2e/<scheme>/decode (one token at position 128 after a 128-token prefill; only that step is
// timed, rewriting cache row 128 on every iteration). f32 is registered first: vs_f32 is
// f32's time per iteration divided by this case's, and is left out when f32 has not run in
// this invocation (e.g. a --benchmark_filter that excludes it). weight_bytes counts every
// stored tensor (printed with binary prefixes); bits/w covers only the blocks' linear layers.
//
// Environment: LOWBIT_BENCH_PRESET (synthetic preset, default "demo"; "tinyllama-1.1b" takes
// ~20 s and ~4.4 GB of RAM to build), LOWBIT_BENCH_THREADS (default 1), LOWBIT_ISA.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench_common.h"
#include "kernels/exec_context.h"
#include "model/llama_model.h"
#include "ptq/model_loader.h"
#include "ptq/quantize_model.h"
#include "ptq/synthetic_model.h"
#include "quant/scheme.h"

namespace lowbit {
namespace {

using bench::env_or;
using bench::exec_context;

constexpr int64_t kPrompt = 128;  // prefill length, and the position decoded at

const char* const kSchemes[] = {"f32",    "f16",   "bf16", "w8",  "w4g128", "w4g32",
                                "w3g128", "w2g32", "fp8",  "nf4", "nf4-dq"};

enum class Phase { prefill, decode };

std::string preset_name() { return env_or("LOWBIT_BENCH_PRESET", "demo"); }

// The f32 synthetic model, built on first use.
const ModelSource& source() {
  static const ModelSource src = [] {
    ptq::SyntheticModel m = ptq::make_synthetic_model(ptq::synthetic_preset(preset_name()));
    ModelSource s;
    s.config = std::move(m.config);
    s.tensors = std::move(m.tensors);
    s.format = "synthetic";
    return s;
  }();
  return src;
}

// The model quantized with `scheme`. Only the most recent one is kept (prefill and decode of
// a scheme run back to back), so a large preset never holds every scheme's copy at once.
const model::LlamaModel& model_for(const std::string& scheme) {
  static std::string cached_name;
  static std::unique_ptr<model::LlamaModel> cached;
  if (!cached || cached_name != scheme) {
    cached.reset();
    const ptq::QuantizedModel q =
        ptq::quantize_model(source(), quant::find_scheme(scheme), exec_context());
    cached = ptq::build_model(source().config, q.tensors);
    cached_name = scheme;
  }
  return *cached;
}

// Deterministic token ids spread over the vocabulary.
std::vector<int32_t> prompt_tokens(int64_t vocab) {
  std::vector<int32_t> tokens(static_cast<size_t>(kPrompt));
  for (int64_t i = 0; i < kPrompt; ++i)
    tokens[static_cast<size_t>(i)] = static_cast<int32_t>((1 + i * 7919) % vocab);
  return tokens;
}

// f32's seconds per iteration of each phase, from its latest run in this process.
std::map<Phase, double>& f32_seconds() {
  static std::map<Phase, double> seconds;
  return seconds;
}

void e2e_bench(benchmark::State& state, const std::string& scheme, Phase phase) {
  kernels::ExecContext& ctx = exec_context();
  const model::LlamaModel& m = model_for(scheme);
  const int64_t vocab = m.config().vocab_size;
  const std::vector<int32_t> prompt = prompt_tokens(vocab);
  model::KvCache cache = m.make_cache(kPrompt + 1);
  const int64_t rows = phase == Phase::prefill ? kPrompt : 1;
  std::vector<float> logits(static_cast<size_t>(kPrompt * vocab));  // the warm-up writes 128
  // Decode needs positions 0..127 in the cache; prefill rewrites them every iteration anyway.
  m.forward(prompt, 0, cache, logits.data(), ctx);
  const int32_t next[1] = {prompt.back()};

  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    if (phase == Phase::prefill) {
      m.forward(prompt, 0, cache, logits.data(), ctx);
    } else {
      m.forward(next, kPrompt, cache, logits.data(), ctx);
    }
    benchmark::DoNotOptimize(logits.data());
    benchmark::ClobberMemory();
  }
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  const double per_iter = elapsed.count() / static_cast<double>(state.iterations());

  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["weight_bytes"] =
      benchmark::Counter(static_cast<double>(m.weights().storage_bytes(m.config())),
                         benchmark::Counter::kDefaults, benchmark::Counter::kIs1024);
  state.counters["bits/w"] = m.weights().linear_bits_per_weight();
  if (scheme == "f32") {
    f32_seconds()[phase] = per_iter;
  }
  const auto f32 = f32_seconds().find(phase);
  if (f32 != f32_seconds().end() && per_iter > 0) state.counters["vs_f32"] = f32->second / per_iter;
  state.SetLabel(preset_name() + ", " + std::to_string(ctx.threads()) + " thread(s), isa " +
                 kernels::isa_name(ctx.isa));
}

void register_all() {
  for (const char* scheme : kSchemes) {
    for (const auto& [phase, name] :
         {std::pair{Phase::prefill, "prefill"}, std::pair{Phase::decode, "decode"}}) {
      benchmark::RegisterBenchmark(("e2e/" + std::string(scheme) + "/" + name).c_str(), e2e_bench,
                                   std::string(scheme), phase)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  }
}

const bool registered = (register_all(), true);

}  // namespace
}  // namespace lowbit

BENCHMARK_MAIN();
