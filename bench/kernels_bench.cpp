// SPDX-License-Identifier: MIT
// linear on a 4096 x 4096 weight in each hot format, for decode (M = 1) and prefill (M = 128),
// with f32 activations and (4/8-bit integer weights) int8 activation blocks: bytes/s counts the
// stored weight bytes read per call, GFLOPS the 2*M*N*K multiply-adds. LOWBIT_BENCH_N and
// LOWBIT_BENCH_K set another shape (e.g. N=49152 K=576: SmolLM2's head, rows of 576 bytes).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernels.h"
#include "numerics/half.h"

namespace lowbit::kernels {
namespace {

int64_t shape_from_env(const char* name) {
  const char* value = std::getenv(name);
  const long long v = value != nullptr ? std::atoll(value) : 0;
  return v > 0 ? v : 4096;
}

const int64_t kN = shape_from_env("LOWBIT_BENCH_N");
const int64_t kK = shape_from_env("LOWBIT_BENCH_K");

enum class Case { f32, f16, w8, w4g128, q4_0, w4g32, w3g128, w2g32, nf4, fp8 };

QuantFormat format_of(Case c) {
  switch (c) {
    case Case::f32:
      return QuantFormat::dense(QuantKind::f32);
    case Case::f16:
      return QuantFormat::dense(QuantKind::f16);
    case Case::w8:
      return QuantFormat::affine(8, kPerChannel, true);
    case Case::w4g128:
      return QuantFormat::affine(4, 128, true);
    // As ggml's Q4_0: symmetric groups of 32, f16 scales.
    case Case::q4_0:
      return QuantFormat::affine(4, 32, true);
    // As the w4g32 / w3g128 / w2g32 schemes: asymmetric, f16 scale and zero-point.
    case Case::w4g32:
      return QuantFormat::affine(4, 32, false);
    case Case::w3g128:
      return QuantFormat::affine(3, 128, false);
    case Case::w2g32:
      return QuantFormat::affine(2, 32, false);
    case Case::nf4:
      return QuantFormat::nf4(64, false);
    case Case::fp8:
      return QuantFormat::fp8(QuantKind::fp8_e4m3, kPerChannel);
  }
  return {};
}

// Random but well-formed: finite dense values, and codes and scales of ordinary magnitude
// (denormals or NaNs would time the CPU's slow paths instead of the kernel).
QuantizedTensor make_weight(Case c) {
  std::mt19937 rng(42);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  QuantizedTensor w;
  w.format = format_of(c);
  w.shape = {kN, kK};
  w.codes = Buffer::allocate(w.row_bytes() * kN);
  uint8_t* codes = w.codes.mutable_data();
  const size_t n = static_cast<size_t>(kN * kK);
  if (c == Case::f32) {
    for (size_t i = 0; i < n; ++i) {
      const float v = normal(rng);
      std::memcpy(codes + 4 * i, &v, 4);
    }
  } else if (c == Case::f16) {
    for (size_t i = 0; i < n; ++i) {
      const uint16_t h = f32_to_f16(normal(rng));
      std::memcpy(codes + 2 * i, &h, 2);
    }
  } else {
    for (size_t i = 0; i < w.codes.size(); ++i) {
      auto b = static_cast<uint8_t>(rng());
      if (c == Case::fp8 && (b & 0x7F) == 0x7F) b = 0x3C;  // no NaN codes
      codes[i] = b;
    }
    const auto scales = static_cast<size_t>(w.scale_count());
    w.scales = Buffer::allocate(scales * dtype_size(w.format.scale_dtype));
    for (size_t i = 0; i < scales; ++i) {
      if (w.format.scale_dtype == DType::f16) {
        const uint16_t h = f32_to_f16(0.01f);
        std::memcpy(w.scales.mutable_data() + 2 * i, &h, 2);
      } else {
        const float s = 0.01f;
        std::memcpy(w.scales.mutable_data() + 4 * i, &s, 4);
      }
    }
    if (w.format.has_zeros()) {
      // Mid-range zero-points, so values are centred as a quantizer would leave them.
      const uint16_t h = f32_to_f16(static_cast<float>(1 << (w.format.bits - 1)) - 0.5f);
      w.zeros = Buffer::allocate(scales * 2);
      for (size_t i = 0; i < scales; ++i) std::memcpy(w.zeros.mutable_data() + 2 * i, &h, 2);
    }
  }
  w.validate("bench");
  return w;
}

const QuantizedTensor& weight(Case c) {
  static std::map<Case, QuantizedTensor> cache;
  auto it = cache.find(c);
  if (it == cache.end()) it = cache.emplace(c, make_weight(c)).first;
  return it->second;
}

// Args: M, threads, int8 activations (ExecContext::int8_activations).
void linear_bench(benchmark::State& state, Case c) {
  const int64_t m = state.range(0);
  ExecContext ctx(static_cast<int>(state.range(1)));
  ctx.int8_activations = state.range(2) != 0;
  const QuantizedTensor& w = weight(c);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(m * kK)), y(static_cast<size_t>(m * kN));
  for (auto& v : x) v = normal(rng);
  for (auto _ : state) {
    linear(x.data(), m, w, nullptr, y.data(), ctx);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(w.storage_bytes()));
  state.counters["GFLOPS"] = benchmark::Counter(2e-9 * static_cast<double>(m * kN * kK),
                                                benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(format_name(w.format) + ", isa " + isa_name(ctx.isa) +
                 (ctx.int8_activations ? ", int8 activations" : ""));
}

void register_all() {
  const std::pair<const char*, Case> cases[] = {{"f32", Case::f32},       {"f16", Case::f16},
                                                {"w8", Case::w8},         {"w4g128", Case::w4g128},
                                                {"q4_0", Case::q4_0},     {"w4g32", Case::w4g32},
                                                {"w3g128", Case::w3g128}, {"w2g32", Case::w2g32},
                                                {"nf4", Case::nf4},       {"fp8", Case::fp8}};
  for (const auto& [name, c] : cases) {
    auto* b = benchmark::RegisterBenchmark((std::string("linear/") + name).c_str(), linear_bench, c)
                  ->ArgNames({"M", "threads", "int8"});
    // The int8-activation path where it exists (4- and 8-bit integer weights), beside f32.
    const bool int8 = c == Case::w8 || c == Case::w4g128 || c == Case::q4_0 || c == Case::w4g32;
    for (int64_t act : {0, 1}) {
      if (act == 1 && !int8) continue;
      for (int64_t m : {1, 128})
        for (int64_t threads : {1, 2}) b->Args({m, threads, act});
    }
    b->Unit(benchmark::kMillisecond)->UseRealTime();
  }
}

const bool registered = (register_all(), true);

}  // namespace
}  // namespace lowbit::kernels

BENCHMARK_MAIN();
