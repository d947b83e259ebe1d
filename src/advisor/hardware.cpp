// SPDX-License-Identifier: MIT
// Parsing the hardware table, looking entries up and resolving --hardware/--bandwidth/--memory.
#include "advisor/hardware.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "advisor/cpu_probe.h"
#include "advisor/units.h"
#include "util/check.h"
#include "util/log.h"

namespace lowbit::advisor {
namespace {

using nlohmann::json;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

Generation parse_generation(const std::string& s, const std::string& where) {
  static const std::pair<const char*, Generation> kNames[] = {
      {"volta", Generation::volta},   {"turing", Generation::turing},
      {"ampere", Generation::ampere}, {"ada", Generation::ada},
      {"hopper", Generation::hopper}, {"blackwell", Generation::blackwell},
      {"cdna3", Generation::cdna3},   {"cpu", Generation::cpu}};
  for (const auto& [name, g] : kNames)
    if (s == name) return g;
  throw FormatError(concat(where, ": unknown generation '", s, "'"));
}

DeviceClass parse_class(const std::string& s, const std::string& where) {
  if (s == "datacenter") return DeviceClass::datacenter;
  if (s == "consumer") return DeviceClass::consumer;
  if (s == "cpu") return DeviceClass::cpu;
  throw FormatError(concat(where, ": unknown class '", s, "'"));
}

// A positive number, or 0 when the field is null (measured at run time).
double optional_positive(const json& entry, const char* key, const std::string& where) {
  LB_CHECK_FORMAT(entry.contains(key), where, ": missing field '", key, "'");
  const json& v = entry.at(key);
  if (v.is_null()) return 0;
  LB_CHECK_FORMAT(v.is_number() && v.get<double>() > 0, where, ": field '", key,
                  "' must be a positive number or null");
  return v.get<double>();
}

std::string required_string(const json& entry, const char* key, const std::string& where) {
  LB_CHECK_FORMAT(
      entry.contains(key) && entry.at(key).is_string() && !entry.at(key).get<std::string>().empty(),
      where, ": missing or empty string field '", key, "'");
  return entry.at(key).get<std::string>();
}

Hardware parse_entry(const json& e, const std::string& where) {
  LB_CHECK_FORMAT(e.is_object(), where, ": not an object");
  Hardware hw;
  hw.name = required_string(e, "name", where);
  const std::string named = concat(where, " ('", hw.name, "')");
  hw.display_name = required_string(e, "display_name", named);
  hw.generation = parse_generation(required_string(e, "generation", named), named);
  hw.device_class = parse_class(required_string(e, "class", named), named);
  hw.source = required_string(e, "source", named);
  hw.memory_bytes = optional_positive(e, "memory_gib", named) * kGiB;
  hw.bandwidth_bytes_per_s = optional_positive(e, "bandwidth_gbps", named) * 1e9;
  hw.memory_source = hw.memory_bytes > 0 ? "table" : "unknown";
  if (e.contains("aliases")) {
    LB_CHECK_FORMAT(e.at("aliases").is_array(), named, ": field 'aliases' must be an array");
    for (const auto& a : e.at("aliases")) hw.aliases.push_back(lower(a.get<std::string>()));
  }
  LB_CHECK_FORMAT(e.contains("tflops") && e.at("tflops").is_object(), named,
                  ": missing object field 'tflops'");
  for (const auto& [dtype, v] : e.at("tflops").items()) {
    LB_CHECK_FORMAT(v.is_number() && v.get<double>() > 0, named, ": tflops '", dtype,
                    "' must be a positive number");
    hw.tflops[dtype] = v.get<double>();
  }
  LB_CHECK_FORMAT(e.contains("native_matmul") && e.at("native_matmul").is_array(), named,
                  ": missing array field 'native_matmul'");
  for (const auto& t : e.at("native_matmul")) hw.native_matmul.push_back(t.get<std::string>());
  return hw;
}

}  // namespace

bool Hardware::has_native(std::string_view dtype) const {
  return std::find(native_matmul.begin(), native_matmul.end(), dtype) != native_matmul.end();
}

std::optional<double> Hardware::tflops_for(std::string_view dtype) const {
  const auto it = tflops.find(std::string(dtype));
  if (it == tflops.end()) return std::nullopt;
  return it->second;
}

std::string Hardware::half_dtype() const {
  return has_native("bf16") || device_class == DeviceClass::custom ? "bf16" : "fp16";
}

std::string_view generation_name(Generation g) {
  switch (g) {
    case Generation::volta:
      return "volta";
    case Generation::turing:
      return "turing";
    case Generation::ampere:
      return "ampere";
    case Generation::ada:
      return "ada";
    case Generation::hopper:
      return "hopper";
    case Generation::blackwell:
      return "blackwell";
    case Generation::cdna3:
      return "cdna3";
    case Generation::cpu:
      return "cpu";
    case Generation::unknown:
      return "unknown";
  }
  return "unknown";
}

std::string_view device_class_name(DeviceClass c) {
  switch (c) {
    case DeviceClass::datacenter:
      return "datacenter";
    case DeviceClass::consumer:
      return "consumer";
    case DeviceClass::cpu:
      return "cpu";
    case DeviceClass::custom:
      return "custom";
  }
  return "custom";
}

std::vector<Hardware> parse_hardware_table(const json& table, std::string_view label) {
  LB_CHECK_FORMAT(table.is_object() && table.contains("devices") && table.at("devices").is_array(),
                  label, ": expected an object with a 'devices' array");
  std::vector<Hardware> out;
  for (size_t i = 0; i < table.at("devices").size(); ++i) {
    try {
      out.push_back(parse_entry(table.at("devices").at(i), concat(label, ": devices[", i, "]")));
    } catch (const json::exception& e) {
      throw FormatError(concat(label, ": devices[", i, "]: ", e.what()));
    }
    for (size_t j = 0; j + 1 < out.size(); ++j)
      LB_CHECK_FORMAT(out[j].name != out.back().name, label, ": duplicate device '",
                      out.back().name, "'");
  }
  LB_CHECK_FORMAT(!out.empty(), label, ": no devices");
  return out;
}

const std::vector<Hardware>& hardware_table() {
  static const std::vector<Hardware> table = [] {
    json j;
    try {
      j = json::parse(embedded_hardware_json());
    } catch (const json::exception& e) {
      throw FormatError(concat("data/hardware.json: ", e.what()));
    }
    return parse_hardware_table(j, "data/hardware.json");
  }();
  return table;
}

const Hardware& find_hardware(std::string_view name) {
  const std::string key = lower(name);
  std::string known;
  for (const auto& hw : hardware_table()) {
    if (hw.name == key || std::find(hw.aliases.begin(), hw.aliases.end(), key) != hw.aliases.end())
      return hw;
    known += (known.empty() ? "" : ", ") + hw.name;
  }
  throw InvalidArgument(concat("--hardware: unknown hardware '", name, "'; known: ", known));
}

Hardware resolve_hardware(const HardwareRequest& request) {
  if (request.bandwidth_gbps)
    LB_CHECK_ARG(std::isfinite(*request.bandwidth_gbps) && *request.bandwidth_gbps > 0,
                 "--bandwidth must be a positive number of GB/s, got ", *request.bandwidth_gbps);
  if (request.memory_gib)
    LB_CHECK_ARG(std::isfinite(*request.memory_gib) && *request.memory_gib > 0,
                 "--memory must be a positive number of GiB, got ", *request.memory_gib);
  Hardware hw;
  if (request.name) {
    hw = find_hardware(*request.name);
  } else if (request.bandwidth_gbps) {
    hw.name = "custom";
    hw.display_name = "custom device (--bandwidth)";
    hw.source = "given on the command line";
    hw.memory_source = "unknown";
  } else {
    hw = find_hardware("cpu");
  }
  if (request.bandwidth_gbps) {
    hw.bandwidth_bytes_per_s = *request.bandwidth_gbps * 1e9;
    hw.bandwidth_source = "given";
  }
  if (request.memory_gib) {
    hw.memory_bytes = *request.memory_gib * kGiB;
    hw.memory_source = "given";
  }
  if (hw.device_class == DeviceClass::cpu) {
    if (hw.bandwidth_bytes_per_s <= 0) {
      log_info("recommend: measuring this machine's memory bandwidth (", request.probe_seconds,
               " s probe)");
      hw.bandwidth_bytes_per_s = measure_read_bandwidth(request.probe_seconds);
      hw.bandwidth_source = "measured";
    }
    if (hw.memory_bytes <= 0) {
      hw.memory_bytes = physical_memory_bytes();
      hw.memory_source = hw.memory_bytes > 0 ? "measured" : "unknown";
    }
    if (!hw.tflops_for("fp32")) hw.tflops["fp32"] = measure_f32_matmul_flops(0.1) / 1e12;
  }
  return hw;
}

}  // namespace lowbit::advisor
