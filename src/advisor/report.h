// SPDX-License-Identifier: MIT
// Renders a recommendation: one JSON object (`--json`) or a readable table with the decision
// steps and the ranked choices. The library returns text; the CLI prints it.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "advisor/decision_tree.h"

namespace lowbit::advisor {

// Keys: model, hardware, context, prompt_tokens, workload, quality, kv_cache_dtype,
// usable_memory_bytes, kv_cache (bytes per token per KV dtype), schemes (per scheme: scheme,
// bits_per_weight, nominal_bits, weight_bytes, scale_overhead_bytes, unquantized_bytes,
// total_bytes, kv_bytes_per_token, min_decode_ms, ...), decision, recommendation, command, notes.
nlohmann::json to_json(const Recommendation& recommendation);

// The readable report; `reasons_for` choices get their full reasons, the rest one line.
std::string format_report(const Recommendation& recommendation, int reasons_for = 3);

// The hardware table as text (`lowbit recommend --list-hardware`).
std::string format_hardware_table();

}  // namespace lowbit::advisor
