// SPDX-License-Identifier: MIT
// The calculator against the mission's worked numbers (70B at 3 TB/s) and exact KV arithmetic.
#include "advisor/calculator.h"

#include <gtest/gtest.h>

#include <cmath>

#include "util/error.h"

namespace lowbit::advisor {
namespace {

Hardware with_bandwidth(double gbps) {
  HardwareRequest request;
  request.bandwidth_gbps = gbps;
  return resolve_hardware(request);
}

void expect_within(double actual, double expected, double relative) {
  EXPECT_LE(std::abs(actual - expected), relative * expected)
      << "actual " << actual << ", expected " << expected;
}

TEST(Calculator, ReproducesTheWorkedSeventyBillionNumbers) {
  const Calculation c = calculate(model_from_params(70'000'000'000), with_bandwidth(3000), {});
  // Nominal weights: 16 / 8 / 4 bits x 70e9.
  EXPECT_DOUBLE_EQ(c.scheme("bf16").weight_bytes, 140e9);
  EXPECT_DOUBLE_EQ(c.scheme("fp8").weight_bytes, 70e9);
  EXPECT_DOUBLE_EQ(c.scheme("w8").weight_bytes, 70e9);
  EXPECT_DOUBLE_EQ(c.scheme("w4g128").weight_bytes, 35e9);
  EXPECT_DOUBLE_EQ(c.scheme("nf4").weight_bytes, 35e9);
  // 47 / 23 / 12 ms per token: 140, 70 and 35 GB over 3 TB/s, plus one 2048-token KV cache.
  for (double tolerance_target : {46.67, 47.0})
    expect_within(c.scheme("bf16").min_decode_ms, tolerance_target, 0.03);
  for (double target : {23.33, 23.0}) expect_within(c.scheme("fp8").min_decode_ms, target, 0.03);
  for (double target : {23.33, 23.0}) expect_within(c.scheme("w8").min_decode_ms, target, 0.03);
  for (double target : {11.67, 12.0}) expect_within(c.scheme("w4g128").min_decode_ms, target, 0.03);
  // Scale overhead is reported apart: w4g128 stores an f16 scale and zero per 128 weights.
  EXPECT_DOUBLE_EQ(c.scheme("bf16").scale_overhead_bytes, 0.0);
  expect_within(c.scheme("w4g128").scale_overhead_bytes,
                static_cast<double>(c.model.linear_params) * 0.25 / 8, 1e-9);
  EXPECT_DOUBLE_EQ(c.scheme("w4g128").bits_per_weight, 4.25);
  EXPECT_GT(c.scheme("w4g128").unquantized_bytes, 0.0);  // embeddings stay 16-bit
  EXPECT_DOUBLE_EQ(c.scheme("bf16").unquantized_bytes, 0.0);
  EXPECT_GT(c.scheme("w4g128").decode_ms_with_overhead, c.scheme("w4g128").min_decode_ms);
  // No memory given: fit is unknown.
  EXPECT_FALSE(c.scheme("bf16").fits.has_value());
  EXPECT_FALSE(c.scheme("bf16").prefill_ms.has_value());
}

TEST(Calculator, H100FiguresScaleWithBandwidth) {
  const ModelShape m = model_from_params(70'000'000'000);
  const Calculation at3000 = calculate(m, with_bandwidth(3000), {});
  HardwareRequest request;
  request.name = "h100-sxm";
  const Calculation h100 = calculate(m, resolve_hardware(request), {});
  for (const char* s : {"bf16", "fp8", "w4g128"})
    EXPECT_NEAR(h100.scheme(s).min_decode_ms * 3350 / 3000, at3000.scheme(s).min_decode_ms, 1e-9);
  expect_within(h100.scheme("bf16").min_decode_ms, 140e9 / 3.35e12 * 1e3, 0.03);  // ~41.8 ms
  // 140 GB does not fit an 80 GiB H100; 8-bit does.
  EXPECT_FALSE(*h100.scheme("bf16").fits);
  EXPECT_EQ(*h100.scheme("bf16").devices_needed, 2);
  EXPECT_TRUE(*h100.scheme("fp8").fits);
  const SchemeEstimate& fp8 = h100.scheme("fp8");
  const double usable = 80.0 * 1024 * 1024 * 1024 * kUsableMemoryFraction;
  EXPECT_EQ(*fp8.max_sequences, static_cast<int64_t>(std::floor((usable - fp8.total_bytes) /
                                                                fp8.kv_bytes_per_sequence)));
  EXPECT_GT(*h100.scheme("w4g128").max_sequences, 4 * *fp8.max_sequences);
  // FP8 prefill runs on FP8 tensor cores, twice the BF16 rate.
  EXPECT_EQ(fp8.compute_dtype, "fp8");
  EXPECT_EQ(h100.scheme("w4g128").compute_dtype, "bf16");
  ASSERT_TRUE(fp8.prefill_ms && h100.scheme("bf16").prefill_ms);
  EXPECT_LT(*fp8.prefill_ms, *h100.scheme("bf16").prefill_ms);
}

TEST(Calculator, KvBytesPerTokenPerDtype) {
  const ModelShape l2_70b = model_from_preset("llama2-70b");  // 80 layers, 8 KV heads x 128
  EXPECT_DOUBLE_EQ(kv_bytes_per_token(l2_70b, KvDtype::bf16), 2.0 * 80 * 8 * 128 * 2);
  EXPECT_DOUBLE_EQ(kv_bytes_per_token(l2_70b, KvDtype::fp8), 2.0 * 80 * 8 * 128);
  EXPECT_DOUBLE_EQ(kv_bytes_per_token(l2_70b, KvDtype::int8), 2.0 * 80 * 8 * (128 + 2));
  // KIVI int4: half a byte per value; keys one f16 (scale, min) per channel per 32 tokens,
  // values one per token per 32 channels.
  EXPECT_DOUBLE_EQ(kv_bytes_per_token(l2_70b, KvDtype::int4),
                   80.0 * 8 * ((64 + 128 * 4 / 32) + (64 + (128 / 32) * 4)));
  const ModelShape l2_7b = model_from_preset("llama2-7b");  // multi-head: 32 KV heads
  EXPECT_DOUBLE_EQ(kv_bytes_per_token(l2_7b, KvDtype::f16), 524288.0);
  CalculatorOptions opts;
  opts.context = 4096;
  opts.kv_dtype = KvDtype::fp8;
  const Calculation c = calculate(l2_7b, with_bandwidth(1000), opts);
  EXPECT_DOUBLE_EQ(c.scheme("bf16").kv_bytes_per_sequence, 262144.0 * 4096);
  EXPECT_EQ(parse_kv_dtype("fp16"), KvDtype::f16);
  EXPECT_EQ(parse_kv_dtype("int4"), KvDtype::int4);
  EXPECT_THROW(parse_kv_dtype("int3"), InvalidArgument);
}

TEST(Calculator, EveryBuiltinSchemeIsEstimated) {
  const Calculation c = calculate(model_from_preset("llama3-8b"), with_bandwidth(1000), {});
  ASSERT_EQ(c.schemes.size(), quant::builtin_schemes().size());
  for (const auto& e : c.schemes) {
    EXPECT_GE(e.bits_per_weight, e.nominal_bits) << e.scheme;
    EXPECT_LT(e.bits_per_weight, e.nominal_bits + 1.1) << e.scheme;
    EXPECT_NEAR(e.total_bytes, e.weight_bytes + e.scale_overhead_bytes + e.unquantized_bytes, 1);
    EXPECT_GT(e.min_decode_ms, 0) << e.scheme;
  }
  EXPECT_THROW(c.scheme("w5x7"), InvalidArgument);
}

TEST(Calculator, RejectsBadContextAndPrompt) {
  const ModelShape m = model_from_preset("llama2-7b");
  for (int64_t bad : {0, -5}) {
    CalculatorOptions opts;
    opts.context = bad;
    try {
      calculate(m, with_bandwidth(1000), opts);
      ADD_FAILURE() << "accepted context " << bad;
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find("--context"), std::string::npos) << e.what();
    }
  }
  CalculatorOptions opts;
  opts.prompt_tokens = -1;
  EXPECT_THROW(calculate(m, with_bandwidth(1000), opts), InvalidArgument);
}

TEST(Calculator, NotesMissingKvGeometryAndLongContexts) {
  const Calculation guessed = calculate(model_from_params(13'000'000'000), with_bandwidth(900), {});
  ASSERT_FALSE(guessed.notes.empty());
  EXPECT_NE(guessed.notes.front().find("--shape"), std::string::npos);
  CalculatorOptions opts;
  opts.context = 65536;
  const Calculation too_long = calculate(model_from_preset("llama2-7b"), with_bandwidth(900), opts);
  bool noted = false;
  for (const auto& n : too_long.notes) noted |= n.find("max_position_embeddings") != n.npos;
  EXPECT_TRUE(noted);
}

}  // namespace
}  // namespace lowbit::advisor
