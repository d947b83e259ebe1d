// SPDX-License-Identifier: MIT
// The calculator: per scheme, weight memory, KV-cache bytes, how many sequences fit, the
// bandwidth bound on decode latency and a compute-bound prefill estimate on one device.
//
// Conventions (GB = 10^9 bytes). weight_bytes counts every parameter at the scheme's nominal
// width (16/8/4 bits x params), the figure serving engineers quote (70B at 4 bits = 35 GB);
// what the stored model adds on top is reported separately: scale_overhead_bytes (scales,
// zero-points, nested scales of the quantized linear layers) and unquantized_bytes (embeddings,
// output head and norms stay at the model's stored width, 16 bits, instead of the nominal one).
// min_decode_ms = (weight_bytes + kv_bytes_per_token x context) / bandwidth: one decode step
// reads every weight once and the KV cache of one sequence at the full context.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "advisor/hardware.h"
#include "advisor/model_size.h"
#include "kernels/kv_format.h"
#include "quant/scheme.h"

namespace lowbit::advisor {

enum class KvDtype { f32, f16, bf16, fp8, int8, int4 };

struct KvDtypeInfo {
  KvDtype dtype;
  std::string_view name;
  kernels::KvDtype format;  // the cache format lowbit runs (kernels/kv_format.h)
  std::string_view layout;
};

const std::vector<KvDtypeInfo>& kv_dtypes();
const KvDtypeInfo& kv_dtype_info(KvDtype dtype);
// "bf16", "f16"/"fp16", "f32", "fp8", "int8", "int4"; throws InvalidArgument naming
// --kv-cache-dtype.
KvDtype parse_kv_dtype(std::string_view name);
// K and V of every layer for one token, scales included: kernels::kv_bytes_per_token, the
// same figure lowbit's own cache allocates per token.
double kv_bytes_per_token(const ModelShape& model, KvDtype dtype);

// Share of device memory the model and KV cache may use; the rest is kept for activations,
// the runtime context and fragmentation (vLLM's default gpu_memory_utilization).
inline constexpr double kUsableMemoryFraction = 0.9;

struct CalculatorOptions {
  int64_t context = 2048;       // tokens per sequence (prompt + generated)
  int64_t prompt_tokens = 512;  // for the prefill estimate
  KvDtype kv_dtype = KvDtype::bf16;
  double reserved_bytes = 0;  // per device, beyond weights and KV (e.g. LoRA adapters)
};

struct SchemeEstimate {
  std::string scheme;
  std::string format;
  int nominal_bits = 16;
  double bits_per_weight = 16;  // real, over the linear layers: codes + scales + zero-points
  double weight_bytes = 0;      // all parameters at nominal_bits
  double scale_overhead_bytes = 0;
  double unquantized_bytes = 0;  // extra for the layers kept at the stored width
  double total_bytes = 0;        // the sum of the three: what the stored model occupies
  double kv_bytes_per_token = 0;
  double kv_bytes_per_sequence = 0;  // at options.context
  double min_decode_ms = 0;
  double decode_ms_with_overhead = 0;  // total_bytes instead of weight_bytes
  std::string compute_dtype;           // the matmul type prefill runs in on this device
  std::optional<double> prefill_ms;    // nullopt when the device has no TFLOP/s for it
  // Memory (nullopt when the device memory is unknown).
  std::optional<bool> fits;               // one device holds the model and one sequence
  std::optional<int64_t> max_sequences;   // of options.context on one device
  std::optional<int64_t> devices_needed;  // for the model and one sequence
};

struct Calculation {
  ModelShape model;
  Hardware hardware;
  CalculatorOptions options;
  double usable_memory_bytes = 0;  // 0 when unknown
  std::vector<SchemeEstimate> schemes;
  std::vector<std::string> notes;  // caveats for the report

  // The estimate for `scheme`; throws InvalidArgument when it is not a built-in scheme.
  const SchemeEstimate& scheme(std::string_view name) const;
};

// Validates the options (context and prompt tokens positive) with InvalidArgument naming the
// flag, then estimates every built-in scheme.
Calculation calculate(const ModelShape& model, const Hardware& hardware,
                      const CalculatorOptions& options);

// One scheme; used by calculate().
SchemeEstimate estimate_scheme(const quant::Scheme& scheme, const ModelShape& model,
                               const Hardware& hardware, const CalculatorOptions& options);

}  // namespace lowbit::advisor
