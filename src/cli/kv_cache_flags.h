// SPDX-License-Identifier: MIT
// The KV-cache flags shared by eval, generate and inspect (--kv-cache-dtype, --kv-residual,
// --memory) and the memory figures they report.
#pragma once

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "kernels/kv_format.h"
#include "model/llama_config.h"

namespace lowbit::cli {

struct KvCacheFlags {
  std::string dtype = "f32";
  int64_t residual = kernels::kKvDefaultResidual;
  double memory_gib = 0;  // 0: not given
};

// --kv-cache-dtype and --kv-residual; with `memory` also --memory GiB.
void add_kv_cache_flags(CLI::App* cmd, KvCacheFlags& flags, bool memory);

// The format the flags name (InvalidArgument naming the flag when invalid).
kernels::KvFormat kv_format_of(const KvCacheFlags& flags);

// KV memory at `context` tokens: dtype, layout, bytes_per_token (steady state, scales
// included), bytes_per_sequence (what a cache of `context` positions allocates), and, when
// flags.memory_gib > 0, memory_bytes and sequences_fit: how many such caches fit in
// --memory beside `weight_bytes`.
nlohmann::json kv_memory_json(const model::LlamaConfig& config, const kernels::KvFormat& format,
                              int64_t context, double weight_bytes, double memory_gib);

// One line for text reports.
std::string kv_memory_line(const nlohmann::json& kv);

}  // namespace lowbit::cli
