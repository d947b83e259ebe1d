// SPDX-License-Identifier: MIT
#include "cli/kv_cache_flags.h"

#include <cmath>

#include "cli/common.h"
#include "util/check.h"

namespace lowbit::cli {

void add_kv_cache_flags(CLI::App* cmd, KvCacheFlags& f, bool memory) {
  cmd->add_option("--kv-cache-dtype", f.dtype,
                  "KV cache format: f32, f16, bf16, int8, int4 (KIVI), int4-naive, fp8 (e4m3, "
                  "per-layer scales), fp8-e5m2")
      ->capture_default_str();
  cmd->add_option("--kv-residual", f.residual,
                  "int4: most recent tokens kept in f16 until quantized together (a multiple "
                  "of 32)")
      ->check(integer_range(1, int64_t{1} << 20))
      ->capture_default_str();
  if (memory)
    cmd->add_option("--memory", f.memory_gib,
                    "Memory in GiB: report how many KV caches of the context fit beside the "
                    "weights")
        ->check(number_range(0.0, 1e9));
}

kernels::KvFormat kv_format_of(const KvCacheFlags& f) {
  kernels::KvFormat format;
  format.dtype = kernels::parse_kv_dtype(f.dtype);
  format.residual = f.residual;
  kernels::validate_kv_format(format);
  return format;
}

nlohmann::json kv_memory_json(const model::LlamaConfig& c, const kernels::KvFormat& format,
                              int64_t context, double weight_bytes, double memory_gib) {
  const double per_token =
      kernels::kv_bytes_per_token(format.dtype, c.n_layers, c.n_kv_heads, c.head_dim);
  const int64_t per_sequence =
      kernels::kv_cache_bytes(format, c.n_layers, c.n_kv_heads, c.head_dim, context);
  nlohmann::json j = {{"dtype", kernels::kv_dtype_name(format.dtype)},
                      {"layout", kernels::kv_layout_description(format.dtype)},
                      {"bytes_per_token", per_token},
                      {"context", context},
                      {"bytes_per_sequence", per_sequence},
                      {"weight_bytes", weight_bytes}};
  if (format.dtype == kernels::KvDtype::int4) j["residual"] = format.residual;
  if (memory_gib > 0) {
    const double memory = memory_gib * 1024.0 * 1024.0 * 1024.0;
    const double left = memory - weight_bytes;
    j["memory_bytes"] = memory;
    j["sequences_fit"] =
        left > 0 ? static_cast<int64_t>(std::floor(left / static_cast<double>(per_sequence))) : 0;
  }
  return j;
}

std::string kv_memory_line(const nlohmann::json& kv) {
  std::string line =
      concat("KV cache ", kv["dtype"].get<std::string>(), ": ", kv["bytes_per_token"].get<double>(),
             " bytes per token, ", human_bytes(kv["bytes_per_sequence"].get<double>()), " for ",
             kv["context"].get<int64_t>(), " tokens");
  if (kv.contains("sequences_fit"))
    line += concat("; ", kv["sequences_fit"].get<int64_t>(), " sequences fit in ",
                   human_bytes(kv["memory_bytes"].get<double>()), " beside ",
                   human_bytes(kv["weight_bytes"].get<double>()), " of weights");
  return line;
}

}  // namespace lowbit::cli
