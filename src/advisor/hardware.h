// SPDX-License-Identifier: MIT
// The hardware table: memory, bandwidth and dense TFLOP/s per data type of the devices the
// advisor knows, parsed from data/hardware.json (compiled into the binary), plus `cpu`.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace lowbit::advisor {

enum class Generation { volta, turing, ampere, ada, hopper, blackwell, cdna3, cpu, unknown };
enum class DeviceClass { datacenter, consumer, cpu, custom };

struct Hardware {
  std::string name;          // table key, "h100-sxm"; "custom" for --bandwidth alone
  std::string display_name;  // "NVIDIA H100 SXM5 80GB"
  std::vector<std::string> aliases;
  Generation generation = Generation::unknown;
  DeviceClass device_class = DeviceClass::custom;
  double memory_bytes = 0;           // 0 = unknown
  double bandwidth_bytes_per_s = 0;  // 0 = unknown
  // Dense TFLOP/s (TOP/s for integers) per data type: fp32, bf16, fp16, fp8, int8, int4, fp4.
  std::map<std::string, double> tflops;
  std::vector<std::string> native_matmul;  // data types with native matrix-multiply units
  std::string source;                      // where the numbers come from
  std::string memory_source = "table";     // "table", "given" (--memory), "measured", "unknown"
  std::string bandwidth_source = "table";  // "table", "given" (--bandwidth), "measured"

  bool has_native(std::string_view dtype) const;
  // The TFLOP/s for `dtype`, or nullopt when the table has none.
  std::optional<double> tflops_for(std::string_view dtype) const;
  // The 16-bit matmul type the device runs unquantized layers in: bf16, else fp16.
  std::string half_dtype() const;
};

std::string_view generation_name(Generation generation);
std::string_view device_class_name(DeviceClass device_class);

// Parses a table in the data/hardware.json layout; `label` names the file in errors.
// Throws FormatError naming the entry and field.
std::vector<Hardware> parse_hardware_table(const nlohmann::json& table, std::string_view label);

// The table compiled in from data/hardware.json.
const std::vector<Hardware>& hardware_table();
std::string_view embedded_hardware_json();  // generated from data/hardware.json at build time

// The entry called `name` (or one of its aliases, case-insensitive); throws InvalidArgument
// "--hardware: unknown hardware 'x'; known: ...".
const Hardware& find_hardware(std::string_view name);

// What the user asked for: a table entry, and/or explicit bandwidth and memory.
struct HardwareRequest {
  std::optional<std::string> name;       // --hardware
  std::optional<double> bandwidth_gbps;  // --bandwidth, GB/s (10^9 B/s)
  std::optional<double> memory_gib;      // --memory, GiB
  double probe_seconds = 0.2;            // cpu bandwidth probe duration
};

// Resolves a request into one device: a table entry with the given overrides; `cpu` probes
// what is not given (bandwidth, fp32 throughput, physical memory); with no name, a `custom`
// device of the given bandwidth (and memory), or `cpu` when neither is given.
// Throws InvalidArgument for an unknown name or a non-positive bandwidth or memory.
Hardware resolve_hardware(const HardwareRequest& request);

}  // namespace lowbit::advisor
