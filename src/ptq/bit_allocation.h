// SPDX-License-Identifier: MIT
// Mixed bit widths by a budget: given each block linear's measured sensitivity (ptq/sensitivity.h)
// and a scheme that costs more bits, choose which linears get it so that the linears' stored bits
// per weight stay within a target. A knapsack solved greedily by KL per extra stored bit, which
// is near optimal here: each item is a small fraction of the budget.
#pragma once

#include <string>
#include <vector>

#include "model/llama_config.h"
#include "ptq/quantize_model.h"
#include "ptq/sensitivity.h"
#include "quant/scheme.h"

namespace lowbit::ptq {

struct MixPlan {
  std::vector<std::string> upgraded;  // HF names of the linears that get the upgrade, forward order
  double base_bits_per_weight = 0;    // the linears' bits per weight without upgrades
  double bits_per_weight = 0;         // with them (<= the target)
  double upgraded_kl = 0;             // sum of the upgraded linears' sensitivities
  double total_kl = 0;                // sum over every linear the plan could upgrade
};

// Linears on options.linear (not taken by a --tensor-type rule) are candidates; the others keep
// their scheme and count in the budget. Ties in KL per bit go to the earlier linear. Throws
// InvalidArgument when `upgrade` costs no more bits than options.linear, or the target is below
// what the linears cost without upgrades.
MixPlan plan_mixed_bits(const std::vector<LinearSensitivity>& sensitivity,
                        const model::LlamaConfig& config, const QuantizeOptions& options,
                        const quant::Scheme& upgrade, double target_bits_per_weight);

// The checks plan_mixed_bits makes before it needs any sensitivity, so a command can refuse a
// budget that cannot work before measuring: returns the linears' bits per weight without
// upgrades.
double check_mix_budget(const model::LlamaConfig& config, const QuantizeOptions& options,
                        const quant::Scheme& upgrade, double target_bits_per_weight);

// `options` with one exact-name rule per upgraded linear (after its own rules) and a label for
// name(): "<linear> mix=<upgrade>@<target>".
QuantizeOptions apply_mix_plan(QuantizeOptions options, const MixPlan& plan,
                               const quant::Scheme& upgrade, double target_bits_per_weight);

}  // namespace lowbit::ptq
