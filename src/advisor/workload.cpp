// SPDX-License-Identifier: MIT
// Context defaults, KV-cache dtype choice and LoRA memory for the workload step.
#include "advisor/workload.h"

#include "advisor/units.h"
#include "util/check.h"

namespace lowbit::advisor {
namespace {

std::string kib(double bytes) { return fixed(bytes / 1024.0, 0) + " KiB"; }

}  // namespace

std::string_view workload_name(Workload w) {
  switch (w) {
    case Workload::short_context:
      return "short";
    case Workload::long_context:
      return "long";
    case Workload::lora:
      return "lora";
    case Workload::reasoning:
      return "reasoning";
  }
  return "short";
}

Workload parse_workload(std::string_view name) {
  for (auto w :
       {Workload::short_context, Workload::long_context, Workload::lora, Workload::reasoning})
    if (workload_name(w) == name) return w;
  throw InvalidArgument(
      concat("--workload: expected short, long, lora or reasoning, got '", name, "'"));
}

int64_t default_context(Workload w) {
  switch (w) {
    case Workload::long_context:
      return kLongContext;
    case Workload::reasoning:
      return 16384;
    default:
      return 2048;
  }
}

double lora_adapter_bytes(const ModelShape& model) {
  double per_block = 0;  // A [rank, cols] + B [rows, rank] per linear
  for (const auto& l : model.block_linears()) per_block += static_cast<double>(l.rows + l.cols);
  return kLoraAdapters * kLoraRank * per_block * static_cast<double>(model.config.n_layers) * 2.0;
}

WorkloadPlan plan_workload(Workload workload, QualityBudget quality, std::optional<KvDtype> forced,
                           const Hardware& hw, const ModelShape& model) {
  WorkloadPlan plan;
  const bool gpu_without_bf16 =
      (hw.device_class == DeviceClass::datacenter || hw.device_class == DeviceClass::consumer) &&
      !hw.has_native("bf16");
  plan.kv_dtype = gpu_without_bf16 ? KvDtype::f16 : KvDtype::bf16;
  const bool kv_heavy = workload == Workload::long_context || workload == Workload::reasoning;
  if (kv_heavy && quality != QualityBudget::zero) {
    plan.kv_dtype = quality == QualityBudget::large && workload == Workload::long_context
                        ? KvDtype::int4
                    : hw.has_native("fp8") ? KvDtype::fp8
                                           : KvDtype::int8;
  }
  if (forced) {
    plan.kv_dtype = *forced;
    plan.kv_forced = true;
  }
  if (workload == Workload::lora) plan.reserved_bytes = lora_adapter_bytes(model);
  return plan;
}

std::string workload_reason(Workload workload, const WorkloadPlan& plan, const Calculation& calc) {
  const int64_t ctx = calc.options.context;
  const double half_seq = kv_bytes_per_token(calc.model, KvDtype::bf16) * static_cast<double>(ctx);
  const double chosen_seq =
      kv_bytes_per_token(calc.model, plan.kv_dtype) * static_cast<double>(ctx);
  const std::string kv_name(kv_dtype_info(plan.kv_dtype).name);
  const std::string chosen =
      concat("KV cache ", kv_name, ": ", kib(kv_bytes_per_token(calc.model, plan.kv_dtype)),
             " per token, ", gb(chosen_seq), " per sequence");
  std::string reason;
  switch (workload) {
    case Workload::short_context:
      reason = concat("short-context serving (", ctx, " tokens): the KV cache is ", gb(half_seq),
                      " per sequence in 16 bits, small next to the weights, so it "
                      "stays unquantized; ",
                      chosen);
      break;
    case Workload::long_context:
      reason = concat("long context (", ctx, " tokens, 32k+): the KV cache is ", gb(half_seq),
                      " per sequence in 16 bits and dominates memory, so KV cache quantization; ",
                      chosen);
      break;
    case Workload::lora:
      reason = concat("multi-tenant LoRA: ", gb(plan.reserved_bytes), " reserved for ",
                      kLoraAdapters, " resident rank-", kLoraRank,
                      " bf16 adapters on a data-free "
                      "base (FP8, RTN INT4, NF4 for QLoRA-trained adapters); SmoothQuant and AWQ "
                      "fold scales into the norms, changing the inputs adapters were trained on, "
                      "so they drop behind; ",
                      chosen);
      break;
    case Workload::reasoning:
      reason = concat("long reasoning generations (", ctx,
                      " tokens): decode-bound, and the KV "
                      "cache grows with every generated token, so KV cache quantization; errors "
                      "compound over long outputs, so 3- and 2-bit drop one quality class; ",
                      chosen);
      break;
  }
  if (plan.kv_forced) reason += " (KV cache dtype fixed by --kv-cache-dtype)";
  return reason;
}

int workload_rank(Workload workload, std::string_view family) {
  if (workload == Workload::lora && (family == "int8_smoothquant" || family == "awq_int4"))
    return 1;
  return 0;
}

}  // namespace lowbit::advisor
