// SPDX-License-Identifier: MIT
// Weight, KV-cache, decode and prefill arithmetic per scheme.
#include "advisor/calculator.h"

#include <algorithm>
#include <cmath>

#include "util/check.h"

namespace lowbit::advisor {
namespace {

// The type prefill's matmuls run in: FP8 schemes use FP8 tensor cores where they exist
// (W8A8 with dynamic activation scales); weight-only schemes dequantize to 16 bits; a CPU
// computes in f32.
std::string compute_dtype(const quant::Scheme& scheme, const Hardware& hw) {
  if (hw.device_class == DeviceClass::cpu) return "fp32";
  const QuantKind kind = scheme.format.kind;
  if ((kind == QuantKind::fp8_e4m3 || kind == QuantKind::fp8_e5m2) && hw.has_native("fp8"))
    return "fp8";
  if (kind == QuantKind::f32) return "fp32";
  return hw.half_dtype();
}

double prefill_flops(const ModelShape& m, int64_t tokens) {
  const auto t = static_cast<double>(tokens);
  const auto& c = m.config;
  const double head = static_cast<double>(c.vocab_size) * static_cast<double>(c.dim);
  // Causal attention: QK^T and PV over half of the T x T scores.
  const double attention = 2.0 * static_cast<double>(c.n_layers * c.q_dim()) * t * t;
  return 2.0 * (static_cast<double>(m.linear_params) + head) * t + attention;
}

}  // namespace

const std::vector<KvDtypeInfo>& kv_dtypes() {
  static const std::vector<KvDtypeInfo> dtypes = {
      {KvDtype::bf16, "bf16", kernels::KvDtype::bf16, "bfloat16"},
      {KvDtype::f16, "f16", kernels::KvDtype::f16, "IEEE half"},
      {KvDtype::fp8, "fp8", kernels::KvDtype::fp8,
       "fp8 e4m3, one scale per layer (no per-token overhead)"},
      {KvDtype::int8, "int8", kernels::KvDtype::int8, "int8, one f16 scale per head and token"},
      {KvDtype::int4, "int4", kernels::KvDtype::int4,
       "int4 KIVI: keys per channel in groups of 32 tokens, values per token in groups of 32 "
       "channels, f16 scale + min"},
      {KvDtype::f32, "f32", kernels::KvDtype::f32, "float32"},
  };
  return dtypes;
}

const KvDtypeInfo& kv_dtype_info(KvDtype dtype) {
  for (const auto& d : kv_dtypes())
    if (d.dtype == dtype) return d;
  throw InvalidArgument("unknown KV cache dtype");
}

KvDtype parse_kv_dtype(std::string_view name) {
  if (name == "fp16") return KvDtype::f16;
  if (name == "fp8_e4m3") return KvDtype::fp8;
  std::string known;
  for (const auto& d : kv_dtypes()) {
    if (d.name == name) return d.dtype;
    known += concat(known.empty() ? "" : ", ", d.name);
  }
  throw InvalidArgument(
      concat("--kv-cache-dtype: unknown dtype '", name, "'; known: auto, ", known));
}

double kv_bytes_per_token(const ModelShape& model, KvDtype dtype) {
  const auto& c = model.config;
  return kernels::kv_bytes_per_token(kv_dtype_info(dtype).format, c.n_layers, c.n_kv_heads,
                                     c.head_dim);
}

const SchemeEstimate& Calculation::scheme(std::string_view name) const {
  for (const auto& s : schemes)
    if (s.scheme == name) return s;
  throw InvalidArgument(concat("unknown scheme '", name, "'; run `lowbit schemes` for the list"));
}

SchemeEstimate estimate_scheme(const quant::Scheme& scheme, const ModelShape& model,
                               const Hardware& hw, const CalculatorOptions& options) {
  SchemeEstimate e;
  e.scheme = scheme.name;
  e.format = format_name(scheme.format);
  e.nominal_bits = scheme.format.bits;
  // Real bits per weight over one block's linears, weighted by their sizes.
  double weights = 0, stored_bits = 0;
  for (const auto& l : model.block_linears()) {
    const double n = static_cast<double>(l.rows) * static_cast<double>(l.cols);
    weights += n;
    stored_bits += n * quant::scheme_bits_per_weight(scheme, l.rows, l.cols);
  }
  e.bits_per_weight = stored_bits / weights;
  const auto total = static_cast<double>(model.total_params);
  const auto linear = static_cast<double>(model.linear_params);
  const auto other = static_cast<double>(model.other_params());
  e.weight_bytes = total * e.nominal_bits / 8.0;
  e.scale_overhead_bytes = linear * (e.bits_per_weight - e.nominal_bits) / 8.0;
  e.unquantized_bytes = other * std::max(0, model.other_bits - e.nominal_bits) / 8.0;
  e.total_bytes = e.weight_bytes + e.scale_overhead_bytes + e.unquantized_bytes;
  e.kv_bytes_per_token = kv_bytes_per_token(model, options.kv_dtype);
  e.kv_bytes_per_sequence = e.kv_bytes_per_token * static_cast<double>(options.context);
  const double bw = hw.bandwidth_bytes_per_s;
  LB_CHECK_ARG(bw > 0, "hardware '", hw.name, "' has no memory bandwidth; give --bandwidth");
  e.min_decode_ms = (e.weight_bytes + e.kv_bytes_per_sequence) / bw * 1e3;
  e.decode_ms_with_overhead = (e.total_bytes + e.kv_bytes_per_sequence) / bw * 1e3;
  e.compute_dtype = compute_dtype(scheme, hw);
  if (const auto tflops = hw.tflops_for(e.compute_dtype)) {
    const double compute_s = prefill_flops(model, options.prompt_tokens) / (*tflops * 1e12);
    e.prefill_ms = std::max(compute_s, e.total_bytes / bw) * 1e3;
  }
  if (hw.memory_bytes > 0) {
    const double usable = hw.memory_bytes * kUsableMemoryFraction;
    const double one_sequence = e.total_bytes + options.reserved_bytes + e.kv_bytes_per_sequence;
    e.devices_needed = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(one_sequence / usable)));
    e.fits = *e.devices_needed == 1;
    const double left = usable - e.total_bytes - options.reserved_bytes;
    e.max_sequences =
        left > 0 ? static_cast<int64_t>(std::floor(left / e.kv_bytes_per_sequence)) : 0;
  }
  return e;
}

Calculation calculate(const ModelShape& model, const Hardware& hardware,
                      const CalculatorOptions& options) {
  LB_CHECK_ARG(options.context > 0, "--context must be a positive number of tokens, got ",
               options.context);
  LB_CHECK_ARG(options.prompt_tokens > 0,
               "--prompt-tokens must be a positive number of tokens, got ", options.prompt_tokens);
  LB_CHECK_ARG(options.reserved_bytes >= 0, "reserved memory must not be negative");
  Calculation calc;
  calc.model = model;
  calc.hardware = hardware;
  calc.options = options;
  calc.usable_memory_bytes = hardware.memory_bytes * kUsableMemoryFraction;
  for (const auto& s : quant::builtin_schemes())
    calc.schemes.push_back(estimate_scheme(s, model, hardware, options));
  if (!model.kv_geometry_exact)
    calc.notes.push_back(
        concat("KV-cache size uses the layer and KV-head counts of the nearest "
               "preset; pass --shape or --model for the exact geometry"));
  if (options.context > model.config.max_seq_len && model.kv_geometry_exact)
    calc.notes.push_back(concat("--context ", options.context,
                                " exceeds the model's max_position_embeddings (",
                                model.config.max_seq_len, ")"));
  if (hardware.memory_bytes <= 0)
    calc.notes.push_back(
        "device memory unknown (give --hardware or --memory): fit and "
        "concurrency are not computed");
  return calc;
}

}  // namespace lowbit::advisor
