// SPDX-License-Identifier: MIT
// The embedded hardware table, lookups, overrides and the cpu probes.
#include "advisor/hardware.h"

#include <gtest/gtest.h>

#include <cmath>

#include "advisor/cpu_probe.h"
#include "util/error.h"

namespace lowbit::advisor {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

TEST(Hardware, TableHasEveryRequiredEntryWithASource) {
  for (const char* name : {"h100-sxm", "h100-pcie", "h200", "b200", "a100-40gb", "a100-80gb",
                           "l40s", "v100", "t4", "rtx-4090", "mi300x", "cpu"}) {
    const Hardware& hw = find_hardware(name);
    EXPECT_EQ(hw.name, name);
    EXPECT_FALSE(hw.source.empty()) << name;
    EXPECT_FALSE(hw.native_matmul.empty()) << name;
    if (hw.device_class == DeviceClass::cpu) continue;
    EXPECT_GT(hw.memory_bytes, 0) << name;
    EXPECT_GT(hw.bandwidth_bytes_per_s, 0) << name;
    EXPECT_TRUE(hw.tflops_for(hw.half_dtype()).has_value()) << name;
    for (const auto& dtype : hw.native_matmul)
      EXPECT_TRUE(hw.tflops_for(dtype).has_value()) << name << " " << dtype;
  }
}

TEST(Hardware, SpecSheetNumbers) {
  const Hardware& h100 = find_hardware("h100-sxm");
  EXPECT_DOUBLE_EQ(h100.bandwidth_bytes_per_s, 3.35e12);
  EXPECT_DOUBLE_EQ(h100.memory_bytes, 80 * kGiB);
  EXPECT_EQ(h100.generation, Generation::hopper);
  EXPECT_TRUE(h100.has_native("fp8"));
  EXPECT_FALSE(h100.has_native("int4"));
  EXPECT_NEAR(*h100.tflops_for("fp8") / *h100.tflops_for("bf16"), 2.0, 0.01);  // dense, not sparse
  const Hardware& a100 = find_hardware("a100-40gb");
  EXPECT_FALSE(a100.has_native("fp8"));
  EXPECT_TRUE(a100.has_native("int4"));
  EXPECT_DOUBLE_EQ(*a100.tflops_for("bf16"), 312);
  EXPECT_EQ(find_hardware("t4").half_dtype(), "fp16");
  EXPECT_EQ(find_hardware("rtx-4090").device_class, DeviceClass::consumer);
  EXPECT_DOUBLE_EQ(find_hardware("mi300x").memory_bytes, 192 * kGiB);
  EXPECT_DOUBLE_EQ(find_hardware("h200").bandwidth_bytes_per_s, 4.8e12);
}

TEST(Hardware, AliasesAndCaseAreAccepted) {
  EXPECT_EQ(find_hardware("H100").name, "h100-sxm");
  EXPECT_EQ(find_hardware("RTX4090").name, "rtx-4090");
}

TEST(Hardware, UnknownNameListsKnownOnes) {
  try {
    find_hardware("h900");
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("--hardware: unknown hardware 'h900'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("h100-sxm"), std::string::npos) << msg;
  }
}

TEST(Hardware, ParseErrorsNameEntryAndField) {
  auto entry = nlohmann::json::parse(R"({"devices":[{"name":"x","display_name":"X",
      "generation":"hopper","class":"datacenter","memory_gib":80,"bandwidth_gbps":-1,
      "tflops":{},"native_matmul":[],"source":"s"}]})");
  try {
    parse_hardware_table(entry, "hw.json");
    FAIL() << "expected FormatError";
  } catch (const FormatError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("hw.json: devices[0] ('x')"), std::string::npos) << msg;
    EXPECT_NE(msg.find("bandwidth_gbps"), std::string::npos) << msg;
  }
  entry["devices"][0]["bandwidth_gbps"] = 100;
  entry["devices"][0].erase("source");
  EXPECT_THROW(parse_hardware_table(entry, "hw.json"), FormatError);
  entry["devices"][0]["source"] = "s";
  EXPECT_EQ(parse_hardware_table(entry, "hw.json").size(), 1u);
  entry["devices"][0]["generation"] = "kepler";
  EXPECT_THROW(parse_hardware_table(entry, "hw.json"), FormatError);
}

TEST(Hardware, ResolveAppliesOverrides) {
  HardwareRequest custom;
  custom.bandwidth_gbps = 3000;
  const Hardware c = resolve_hardware(custom);
  EXPECT_EQ(c.name, "custom");
  EXPECT_DOUBLE_EQ(c.bandwidth_bytes_per_s, 3e12);
  EXPECT_EQ(c.memory_bytes, 0);
  HardwareRequest h100;
  h100.name = "h100-sxm";
  h100.memory_gib = 94;
  const Hardware h = resolve_hardware(h100);
  EXPECT_DOUBLE_EQ(h.memory_bytes, 94 * kGiB);
  EXPECT_EQ(h.memory_source, "given");
  EXPECT_EQ(h.bandwidth_source, "table");
  HardwareRequest cpu;
  cpu.name = "cpu";
  cpu.bandwidth_gbps = 50;  // given: no bandwidth probe
  const Hardware p = resolve_hardware(cpu);
  EXPECT_DOUBLE_EQ(p.bandwidth_bytes_per_s, 50e9);
  EXPECT_EQ(p.bandwidth_source, "given");
  EXPECT_GT(p.memory_bytes, 0);
  ASSERT_TRUE(p.tflops_for("fp32").has_value());
  EXPECT_GT(*p.tflops_for("fp32"), 0);
}

TEST(Hardware, ResolveRejectsBadNumbers) {
  for (double bad : {0.0, -3.0, std::nan("")}) {
    HardwareRequest r;
    r.bandwidth_gbps = bad;
    EXPECT_THROW(resolve_hardware(r), InvalidArgument);
    HardwareRequest m;
    m.name = "t4";
    m.memory_gib = bad;
    EXPECT_THROW(resolve_hardware(m), InvalidArgument);
  }
}

TEST(CpuProbe, GivesPositiveFiniteNumbers) {
  // Only sanity: the speed of the test machine is not asserted.
  const double bw = measure_read_bandwidth(0.02, size_t{16} << 20);
  EXPECT_TRUE(std::isfinite(bw));
  EXPECT_GT(bw, 0);
  const double flops = measure_f32_matmul_flops(0.01);
  EXPECT_TRUE(std::isfinite(flops));
  EXPECT_GT(flops, 0);
  EXPECT_GT(physical_memory_bytes(), 0);
}

TEST(CpuProbe, CpuEntryIsMeasuredWhenNotGiven) {
  HardwareRequest r;
  r.probe_seconds = 0.02;
  const Hardware hw = resolve_hardware(r);  // no name, no bandwidth: this machine
  EXPECT_EQ(hw.name, "cpu");
  EXPECT_EQ(hw.bandwidth_source, "measured");
  EXPECT_TRUE(std::isfinite(hw.bandwidth_bytes_per_s));
  EXPECT_GT(hw.bandwidth_bytes_per_s, 0);
  EXPECT_EQ(hw.memory_source, "measured");
}

}  // namespace
}  // namespace lowbit::advisor
