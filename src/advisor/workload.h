// SPDX-License-Identifier: MIT
// The workload step of the advisor: context length, KV-cache dtype and reserved memory for
// short-context, long-context (32k+), multi-tenant LoRA and long-reasoning serving.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "advisor/calculator.h"
#include "advisor/measured.h"

namespace lowbit::advisor {

enum class Workload { short_context, long_context, lora, reasoning };
std::string_view workload_name(Workload w);  // "short", "long", "lora", "reasoning"
// Throws InvalidArgument naming --workload.
Workload parse_workload(std::string_view name);

// Defaults when --context is not given: 2048 tokens (short, lora), 32768 (long), 16384
// (reasoning: prompt plus a long chain of thought). A context of 32768 or more makes a short
// workload long.
inline constexpr int64_t kLongContext = 32768;
int64_t default_context(Workload w);

// Multi-tenant LoRA: adapters kept resident, their rank; all seven linears of every block, bf16.
inline constexpr int kLoraAdapters = 8;
inline constexpr int kLoraRank = 16;
double lora_adapter_bytes(const ModelShape& model);

struct WorkloadPlan {
  KvDtype kv_dtype = KvDtype::bf16;
  bool kv_forced = false;     // given by --kv-cache-dtype
  double reserved_bytes = 0;  // LoRA adapters
};

// KV dtype: --kv-cache-dtype when given; else 16-bit for short and LoRA serving and for a zero
// quality budget; for long contexts and reasoning fp8 where the device has FP8, int8 elsewhere,
// int4 (KIVI-style) with a large budget.
WorkloadPlan plan_workload(Workload workload, QualityBudget quality, std::optional<KvDtype> forced,
                           const Hardware& hardware, const ModelShape& model);

// The reason line of the workload step, with the KV numbers of `calc`.
std::string workload_reason(Workload workload, const WorkloadPlan& plan, const Calculation& calc);

// Ranking adjustment (lower first): with LoRA, SmoothQuant and AWQ (which fold scales into the
// norms the adapters read from) drop behind the data-free formats.
int workload_rank(Workload workload, std::string_view family);

}  // namespace lowbit::advisor
