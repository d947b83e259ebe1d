// SPDX-License-Identifier: MIT
// The advisor: the mission's decision tree (hardware generation -> memory pressure -> quality
// budget -> workload) over the calculator's numbers, producing a ranked list of choices with the
// reason for each step and the `lowbit quantize` command line for the top one.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "advisor/calculator.h"
#include "advisor/families.h"
#include "advisor/measured.h"
#include "advisor/workload.h"

namespace lowbit::advisor {

struct AdvisorInputs {
  QualityBudget quality = QualityBudget::small;
  Workload workload = Workload::short_context;
  std::optional<int64_t> context;   // --context; nullopt = default_context(workload)
  std::optional<KvDtype> kv_dtype;  // --kv-cache-dtype; nullopt = chosen by the workload step
  int64_t prompt_tokens = 512;      // --prompt-tokens
  std::optional<MeasuredQuality> measured;  // --measured
  std::string model_argument;  // the --model path for the command line ("" = placeholder)
};

// One step of the tree: which branch it took and why.
//   hardware: fp8_first (Hopper, Blackwell, Ada datacenter, MI300), ampere, volta_turing,
//             consumer, cpu, unknown (--bandwidth alone)
//   memory:   none, some, tight, unknown
//   quality:  zero, small, moderate, large, measured (--measured)
//   workload: short, long, lora, reasoning
struct DecisionStep {
  std::string step;
  std::string branch;
  std::string reason;
};

struct Recommendation {
  Calculation calculation;                      // at the chosen context and KV dtype
  Workload workload = Workload::short_context;  // after the 32k rule
  QualityBudget quality = QualityBudget::small;
  std::vector<DecisionStep> steps;
  std::vector<Choice> ranking;
  std::string command;  // `lowbit quantize ...` for ranking[0]

  const DecisionStep& step(std::string_view name) const;
};

// Runs the calculator and the tree. Throws InvalidArgument for a bad context or prompt length.
// Ranking key, lower first: how far the expected loss exceeds the budget, devices needed, the
// memory-pressure preference (some: 8-bit, tight: 4-bit), the workload adjustment, then the
// hardware branch's order.
Recommendation recommend(const ModelShape& model, const Hardware& hardware,
                         const AdvisorInputs& inputs);

// `lowbit quantize --model M --scheme S --out O`, with placeholders when the model is unknown.
std::string quantize_command(std::string_view model_argument, std::string_view scheme);

}  // namespace lowbit::advisor
