// SPDX-License-Identifier: MIT
// JSON and table rendering of a recommendation.
#include "advisor/report.h"

#include <sstream>

#include "advisor/units.h"
#include "util/check.h"

namespace lowbit::advisor {
namespace {

using nlohmann::json;

template <typename T>
json optional_json(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

json hardware_json(const Hardware& hw) {
  return {{"name", hw.name},
          {"display_name", hw.display_name},
          {"generation", generation_name(hw.generation)},
          {"class", device_class_name(hw.device_class)},
          {"memory_bytes", hw.memory_bytes > 0 ? json(hw.memory_bytes) : json(nullptr)},
          {"memory_source", hw.memory_source},
          {"bandwidth_gbps", hw.bandwidth_bytes_per_s / 1e9},
          {"bandwidth_source", hw.bandwidth_source},
          {"tflops", hw.tflops},
          {"native_matmul", hw.native_matmul},
          {"source", hw.source}};
}

json scheme_json(const SchemeEstimate& e) {
  return {{"scheme", e.scheme},
          {"format", e.format},
          {"nominal_bits", e.nominal_bits},
          {"bits_per_weight", e.bits_per_weight},
          {"weight_bytes", e.weight_bytes},
          {"scale_overhead_bytes", e.scale_overhead_bytes},
          {"unquantized_bytes", e.unquantized_bytes},
          {"total_bytes", e.total_bytes},
          {"kv_bytes_per_token", e.kv_bytes_per_token},
          {"kv_bytes_per_sequence", e.kv_bytes_per_sequence},
          {"min_decode_ms", e.min_decode_ms},
          {"decode_ms_with_overhead", e.decode_ms_with_overhead},
          {"compute_dtype", e.compute_dtype},
          {"prefill_ms", optional_json(e.prefill_ms)},
          {"fits", optional_json(e.fits)},
          {"max_sequences", optional_json(e.max_sequences)},
          {"devices_needed", optional_json(e.devices_needed)}};
}

std::string fits_text(const SchemeEstimate& e) {
  if (!e.fits) return "-";
  return *e.fits ? "yes" : concat(*e.devices_needed, " dev");
}

}  // namespace

json to_json(const Recommendation& r) {
  const Calculation& c = r.calculation;
  const auto& m = c.model;
  json out;
  out["model"] = {{"name", m.name},
                  {"source", m.source},
                  {"total_params", m.total_params},
                  {"linear_params", m.linear_params},
                  {"other_params", m.other_params()},
                  {"other_bits", m.other_bits},
                  {"n_layers", m.config.n_layers},
                  {"n_heads", m.config.n_heads},
                  {"n_kv_heads", m.config.n_kv_heads},
                  {"head_dim", m.config.head_dim},
                  {"hidden_size", m.config.dim},
                  {"vocab_size", m.config.vocab_size},
                  {"kv_geometry_exact", m.kv_geometry_exact}};
  out["hardware"] = hardware_json(c.hardware);
  out["context"] = c.options.context;
  out["prompt_tokens"] = c.options.prompt_tokens;
  out["workload"] = workload_name(r.workload);
  out["quality"] = quality_name(r.quality);
  out["kv_cache_dtype"] = kv_dtype_info(c.options.kv_dtype).name;
  out["usable_memory_bytes"] = c.usable_memory_bytes > 0 ? json(c.usable_memory_bytes) : json();
  out["reserved_bytes"] = c.options.reserved_bytes;
  out["kv_cache"] = json::array();
  for (const auto& d : kv_dtypes())
    out["kv_cache"].push_back({{"dtype", d.name},
                               {"bytes_per_token", kv_bytes_per_token(m, d.dtype)},
                               {"layout", d.layout}});
  out["schemes"] = json::array();
  for (const auto& e : c.schemes) out["schemes"].push_back(scheme_json(e));
  out["decision"] = json::array();
  for (const auto& s : r.steps)
    out["decision"].push_back({{"step", s.step}, {"branch", s.branch}, {"reason", s.reason}});
  out["recommendation"] = json::array();
  for (const auto& ch : r.ranking) {
    const SchemeEstimate& e = c.scheme(ch.scheme);
    out["recommendation"].push_back({{"rank", ch.rank},
                                     {"choice", ch.label},
                                     {"family", ch.family},
                                     {"scheme", ch.scheme},
                                     {"kv_cache_dtype", ch.kv_cache_dtype},
                                     {"expected_loss", loss_name(ch.expected_loss)},
                                     {"loss_measured", ch.loss_measured},
                                     {"within_budget", ch.within_budget},
                                     {"total_bytes", e.total_bytes},
                                     {"min_decode_ms", e.min_decode_ms},
                                     {"devices_needed", optional_json(e.devices_needed)},
                                     {"reasons", ch.reasons}});
  }
  out["command"] = r.command;
  out["notes"] = c.notes;
  return out;
}

std::string format_report(const Recommendation& r, int reasons_for) {
  const Calculation& c = r.calculation;
  const auto& m = c.model;
  const Hardware& hw = c.hardware;
  std::ostringstream o;
  o << "model     " << m.name << ": " << fixed(static_cast<double>(m.total_params) / 1e9, 3)
    << "B parameters, " << fixed(static_cast<double>(m.linear_params) / 1e9, 3)
    << "B in linear layers, " << fixed(static_cast<double>(m.other_params()) / 1e9, 3)
    << "B other (" << m.source << ")\n";
  o << "hardware  " << hw.display_name << ": " << fixed(hw.bandwidth_bytes_per_s / 1e9, 1)
    << " GB/s (" << hw.bandwidth_source << "), memory "
    << (hw.memory_bytes > 0 ? concat(fixed(hw.memory_bytes / kGiB, 1), " GiB (", hw.memory_source,
                                     "), ", gb(c.usable_memory_bytes), " usable")
                            : std::string("unknown"))
    << "\n";
  o << "workload  " << workload_name(r.workload) << ", context " << c.options.context
    << " tokens, prompt " << c.options.prompt_tokens << " tokens, KV cache "
    << kv_dtype_info(c.options.kv_dtype).name << ", quality budget " << quality_name(r.quality)
    << "\n\n";
  o << "scheme        bits/w  weights  +scales  +16-bit  KV/token   seqs  min decode  "
       "all bytes   prefill  fits\n"
    << "                           GB       GB       GB       KiB           ms/token  "
       "ms/token        ms\n";
  char line[256];
  for (const auto& e : c.schemes) {
    std::snprintf(
        line, sizeof line, "%-12s %7.3f %8.2f %8.2f %8.2f %9.1f %6s %11.2f %10.2f %9s  %s\n",
        e.scheme.c_str(), e.bits_per_weight, e.weight_bytes / 1e9, e.scale_overhead_bytes / 1e9,
        e.unquantized_bytes / 1e9, e.kv_bytes_per_token / 1024.0,
        e.max_sequences ? std::to_string(*e.max_sequences).c_str() : "-", e.min_decode_ms,
        e.decode_ms_with_overhead, e.prefill_ms ? fixed(*e.prefill_ms, 1).c_str() : "-",
        fits_text(e).c_str());
    o << line;
  }
  o << "(weights = all parameters at the nominal width; scales and 16-bit layers listed apart; "
       "min decode = (weights + one sequence's KV cache) / bandwidth)\n\ndecision\n";
  for (const auto& s : r.steps)
    o << "  " << s.step << " [" << s.branch << "]: " << s.reason << "\n";
  o << "\nrecommendation\n";
  for (const auto& ch : r.ranking) {
    o << "  " << ch.rank << ". " << ch.label << " -> scheme " << ch.scheme << ", KV "
      << ch.kv_cache_dtype << ", loss " << loss_name(ch.expected_loss)
      << (ch.within_budget ? "" : " (over budget)") << "\n";
    if (ch.rank <= reasons_for)
      for (const auto& reason : ch.reasons) o << "       - " << reason << "\n";
  }
  o << "\ntop choice:\n  " << r.command << "\n";
  for (const auto& note : c.notes) o << "note: " << note << "\n";
  return o.str();
}

std::string format_hardware_table() {
  std::ostringstream o;
  char line[256];
  std::snprintf(line, sizeof line, "%-10s %-10s %-10s %8s %9s %9s %9s %9s  %s\n", "name",
                "generation", "class", "mem GiB", "GB/s", "bf16/fp16", "fp8", "int8", "source");
  o << line;
  for (const auto& hw : hardware_table()) {
    auto tf = [&](std::string_view d) {
      const auto v = hw.tflops_for(d);
      return v ? fixed(*v, 1) : std::string("-");
    };
    std::snprintf(
        line, sizeof line, "%-10s %-10s %-10s %8s %9s %9s %9s %9s  ", hw.name.c_str(),
        std::string(generation_name(hw.generation)).c_str(),
        std::string(device_class_name(hw.device_class)).c_str(),
        hw.memory_bytes > 0 ? fixed(hw.memory_bytes / kGiB, 0).c_str() : "probe",
        hw.bandwidth_bytes_per_s > 0 ? fixed(hw.bandwidth_bytes_per_s / 1e9, 0).c_str() : "probe",
        tf(hw.half_dtype()).c_str(), tf("fp8").c_str(), tf("int8").c_str());
    o << line << hw.source << "\n";
  }
  o << "(dense TFLOP/s, TOP/s for int8; `cpu` is measured when chosen)\n";
  return o.str();
}

}  // namespace lowbit::advisor
