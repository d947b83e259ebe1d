// SPDX-License-Identifier: MIT
// One test per branch of the decision tree (hardware, memory, quality, workload), checking the
// branch, its reason text and the ranking it produces.
#include "advisor/decision_tree.h"

#include <gtest/gtest.h>

#include "util/error.h"

namespace lowbit::advisor {
namespace {

Hardware device(const std::string& name, std::optional<double> bandwidth = {},
                std::optional<double> memory = {}) {
  HardwareRequest r;
  if (!name.empty()) r.name = name;
  r.bandwidth_gbps = bandwidth;
  r.memory_gib = memory;
  return resolve_hardware(r);
}

AdvisorInputs inputs(QualityBudget q, Workload w = Workload::short_context) {
  AdvisorInputs in;
  in.quality = q;
  in.workload = w;
  return in;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

int rank_of(const Recommendation& r, const std::string& family) {
  for (const auto& c : r.ranking)
    if (c.family == family) return c.rank;
  ADD_FAILURE() << "no family " << family;
  return -1;
}

const Choice& choice(const Recommendation& r, const std::string& family) {
  return r.ranking.at(static_cast<size_t>(rank_of(r, family) - 1));
}

const ModelShape kLlama3_8b = model_from_preset("llama3-8b");
const ModelShape k70b = model_from_params(70'000'000'000);

// --- hardware ---------------------------------------------------------------------------

TEST(DecisionTree, HopperPutsFp8First) {
  const Recommendation r = recommend(kLlama3_8b, device("h100-sxm"), inputs(QualityBudget::small));
  ASSERT_EQ(r.steps.size(), 4u);
  EXPECT_EQ(r.steps[0].step, "hardware");
  EXPECT_EQ(r.step("hardware").branch, "fp8_first");
  EXPECT_TRUE(contains(r.step("hardware").reason, "Hopper")) << r.step("hardware").reason;
  EXPECT_TRUE(contains(r.step("hardware").reason, "FP8 first"));
  EXPECT_EQ(r.ranking.front().family, "fp8");
  EXPECT_EQ(r.ranking.front().scheme, "fp8");
  EXPECT_TRUE(contains(r.ranking.front().reasons.front(), "native FP8 tensor cores"));
}

TEST(DecisionTree, BlackwellAdaAndMi300AlsoPutFp8First) {
  for (const auto& [name, word] :
       {std::pair{"b200", "Blackwell"}, {"l40s", "Ada"}, {"mi300x", "e4m3fnuz"}}) {
    const Recommendation r = recommend(kLlama3_8b, device(name), inputs(QualityBudget::small));
    EXPECT_EQ(r.step("hardware").branch, "fp8_first") << name;
    EXPECT_TRUE(contains(r.step("hardware").reason, word)) << r.step("hardware").reason;
    EXPECT_EQ(r.ranking.front().family, "fp8") << name;
  }
}

TEST(DecisionTree, AmperePrefersInt8SmoothQuant) {
  const Recommendation r = recommend(kLlama3_8b, device("a100-80gb"), inputs(QualityBudget::small));
  EXPECT_EQ(r.step("hardware").branch, "ampere");
  EXPECT_TRUE(contains(r.step("hardware").reason, "no FP8"));
  EXPECT_TRUE(contains(r.step("hardware").reason, "INT8 SmoothQuant"));
  EXPECT_EQ(r.ranking.front().family, "int8_smoothquant");
  EXPECT_EQ(r.ranking.front().scheme, "w8");
  EXPECT_TRUE(contains(r.ranking.front().reasons.back(), "closest lowbit scheme today: w8"));
  EXPECT_TRUE(contains(choice(r, "fp8").reasons.front(), "FP8-Marlin"));
}

TEST(DecisionTree, VoltaAndTuringPreferInt8WithFp16) {
  const Recommendation t4 =
      recommend(model_from_preset("llama2-7b"), device("t4"), inputs(QualityBudget::small));
  EXPECT_EQ(t4.step("hardware").branch, "volta_turing");
  EXPECT_TRUE(contains(t4.step("hardware").reason, "no BF16 or FP8"));
  EXPECT_EQ(t4.ranking.front().family, "int8_smoothquant");
  EXPECT_EQ(choice(t4, "bf16").scheme, "f16");
  EXPECT_EQ(choice(t4, "bf16").label, "FP16 (unquantized)");
  const Recommendation v100 =
      recommend(model_from_preset("llama2-7b"), device("v100"), inputs(QualityBudget::small));
  EXPECT_EQ(v100.step("hardware").branch, "volta_turing");
  EXPECT_TRUE(contains(v100.step("hardware").reason, "DP4A"));
}

TEST(DecisionTree, ConsumerGpuPrefersAwqInt4) {
  const Recommendation r =
      recommend(kLlama3_8b, device("rtx-4090"), inputs(QualityBudget::moderate));
  EXPECT_EQ(r.step("hardware").branch, "consumer");
  EXPECT_TRUE(contains(r.step("hardware").reason, "consumer GPU"));
  EXPECT_TRUE(contains(r.step("hardware").reason, "AWQ INT4 or GGUF-style 4-bit"));
  EXPECT_EQ(r.ranking.front().family, "awq_int4");
  EXPECT_EQ(r.ranking.front().scheme, "w4g128");
  EXPECT_TRUE(contains(r.ranking.front().reasons.back(), "AWQ scale search is not in lowbit"));
}

TEST(DecisionTree, CpuPrefersGgufStyle4Bit) {
  const Recommendation r =
      recommend(kLlama3_8b, device("cpu", 50.0, 64.0), inputs(QualityBudget::moderate));
  EXPECT_EQ(r.step("hardware").branch, "cpu");
  EXPECT_TRUE(contains(r.step("hardware").reason, "50.0 GB/s given"));
  EXPECT_TRUE(contains(r.step("hardware").reason, "GGUF-style 4-bit"));
  EXPECT_EQ(r.ranking.front().family, "gguf_4bit");
  EXPECT_EQ(r.ranking.front().scheme, "w4g32");
}

TEST(DecisionTree, BandwidthAloneIsUnknownHardware) {
  const Recommendation r = recommend(k70b, device("", 3000.0), inputs(QualityBudget::small));
  EXPECT_EQ(r.step("hardware").branch, "unknown");
  EXPECT_TRUE(contains(r.step("hardware").reason, "no --hardware given"));
  EXPECT_EQ(r.ranking.front().family, "int8_smoothquant");
}

// --- memory -----------------------------------------------------------------------------

TEST(DecisionTree, SmallModelOnBigGpuHasNoPressure) {
  const Recommendation r = recommend(kLlama3_8b, device("h100-sxm"), inputs(QualityBudget::small));
  EXPECT_EQ(r.step("memory").branch, "none");
  EXPECT_TRUE(contains(r.step("memory").reason, "no memory pressure"));
}

TEST(DecisionTree, SeventyBOnH100HasSomePressure) {
  const Recommendation r = recommend(k70b, device("h100-sxm"), inputs(QualityBudget::small));
  EXPECT_EQ(r.step("memory").branch, "some");
  EXPECT_TRUE(contains(r.step("memory").reason, "some memory pressure, 8-bit first"));
  EXPECT_TRUE(contains(r.step("memory").reason, "(2 devices)"));  // bf16
  EXPECT_EQ(r.ranking.front().family, "fp8");
  EXPECT_TRUE(contains(r.ranking.front().reasons[1], "fits one device"));
}

TEST(DecisionTree, SeventyBOnA100FortyIsTightAndPrefers4Bit) {
  const Recommendation r = recommend(k70b, device("a100-40gb"), inputs(QualityBudget::moderate));
  EXPECT_EQ(r.step("memory").branch, "tight");
  EXPECT_TRUE(contains(r.step("memory").reason, "tight memory, 4-bit first"));
  EXPECT_EQ(r.ranking.front().family, "awq_int4");
  // 3-bit would fit one device but exceeds a moderate budget.
  EXPECT_FALSE(choice(r, "int3").within_budget);
  EXPECT_GT(rank_of(r, "int3"), rank_of(r, "awq_int4"));
  EXPECT_GT(rank_of(r, "int8_smoothquant"), rank_of(r, "awq_int4"));
  // With a large budget the 3-bit model that fits wins over 4-bit on two devices.
  const Recommendation large = recommend(k70b, device("a100-40gb"), inputs(QualityBudget::large));
  EXPECT_EQ(large.ranking.front().family, "int3");
  EXPECT_EQ(large.ranking.front().scheme, "w3g128");
}

TEST(DecisionTree, NothingFitsSaysTensorParallel) {
  const Recommendation r = recommend(k70b, device("t4"), inputs(QualityBudget::moderate));
  EXPECT_EQ(r.step("memory").branch, "tight");
  EXPECT_TRUE(contains(r.step("memory").reason, "no scheme fits one device"));
  EXPECT_TRUE(contains(r.step("memory").reason, "tensor parallelism"));
}

TEST(DecisionTree, UnknownMemoryIsNotAssessed) {
  const Recommendation r = recommend(k70b, device("", 3000.0), inputs(QualityBudget::small));
  EXPECT_EQ(r.step("memory").branch, "unknown");
  EXPECT_TRUE(contains(r.step("memory").reason, "device memory unknown"));
  const Recommendation given =
      recommend(k70b, device("", 3000.0, 80.0), inputs(QualityBudget::small));
  EXPECT_EQ(given.step("memory").branch, "some");
}

// --- quality ----------------------------------------------------------------------------

TEST(DecisionTree, ZeroBudgetKeepsBf16EvenOnTwoDevices) {
  const Recommendation r = recommend(k70b, device("h100-sxm"), inputs(QualityBudget::zero));
  EXPECT_EQ(r.step("quality").branch, "zero");
  EXPECT_TRUE(contains(r.step("quality").reason, "quality budget zero"));
  EXPECT_EQ(r.ranking.front().family, "bf16");
  EXPECT_TRUE(contains(r.ranking.front().reasons[1], "needs 2 devices"));
  EXPECT_FALSE(choice(r, "fp8").within_budget);
}

TEST(DecisionTree, EachBudgetNamesItself) {
  for (const auto& [q, text] : {std::pair{QualityBudget::small, "8-bit (FP8 / INT8)"},
                                {QualityBudget::moderate, "4-bit (AWQ INT4 g128"},
                                {QualityBudget::large, "3-bit is within budget"}}) {
    const Recommendation r = recommend(kLlama3_8b, device("h100-sxm"), inputs(q));
    EXPECT_EQ(r.step("quality").branch, quality_name(q));
    EXPECT_TRUE(contains(r.step("quality").reason, text)) << r.step("quality").reason;
  }
  const Recommendation moderate =
      recommend(kLlama3_8b, device("h100-sxm"), inputs(QualityBudget::moderate));
  EXPECT_TRUE(choice(moderate, "awq_int4").within_budget);
  const Recommendation small =
      recommend(kLlama3_8b, device("h100-sxm"), inputs(QualityBudget::small));
  EXPECT_FALSE(choice(small, "awq_int4").within_budget);
  EXPECT_GT(rank_of(small, "awq_int4"), rank_of(small, "int8_smoothquant"));
}

TEST(DecisionTree, MeasuredQualityReplacesTheGenericClasses) {
  AdvisorInputs in = inputs(QualityBudget::zero);
  const Recommendation generic = recommend(kLlama3_8b, device("h100-sxm"), in);
  EXPECT_EQ(rank_of(generic, "fp8"), 2);
  EXPECT_EQ(rank_of(generic, "awq_int4"), 4);
  in.measured = parse_measured(nlohmann::json::parse(R"({"results": [
      {"scheme": "fp8", "kld": 0.02}, {"scheme": "w4g128", "kl_divergence": 0.0005}]})"),
                               "sweep.json");
  const Recommendation r = recommend(kLlama3_8b, device("h100-sxm"), in);
  EXPECT_EQ(r.step("quality").branch, "measured");
  EXPECT_TRUE(contains(r.step("quality").reason, "sweep.json"));
  EXPECT_TRUE(contains(r.step("quality").reason, "w4g128: KL 0.0005 -> zero"))
      << r.step("quality").reason;
  EXPECT_EQ(r.ranking[0].family, "bf16");
  EXPECT_EQ(r.ranking[1].family, "awq_int4");
  EXPECT_TRUE(r.ranking[1].loss_measured);
  EXPECT_TRUE(r.ranking[1].within_budget);
  EXPECT_TRUE(contains(r.ranking[1].reasons[3], "measured KL 0.0005"));
  EXPECT_GT(rank_of(r, "fp8"), rank_of(r, "int8_smoothquant"));
  EXPECT_TRUE(contains(choice(r, "gguf_4bit").reasons[3], "not measured"));
}

// --- workload ---------------------------------------------------------------------------

TEST(DecisionTree, ShortContextKeepsKv16Bit) {
  const Recommendation r = recommend(kLlama3_8b, device("h100-sxm"), inputs(QualityBudget::small));
  EXPECT_EQ(r.step("workload").branch, "short");
  EXPECT_TRUE(contains(r.step("workload").reason, "short-context serving (2048 tokens)"));
  EXPECT_EQ(r.calculation.options.context, 2048);
  EXPECT_EQ(r.ranking.front().kv_cache_dtype, "bf16");
}

TEST(DecisionTree, LongContextQuantizesTheKvCache) {
  const auto in = inputs(QualityBudget::small, Workload::long_context);
  const Recommendation h100 = recommend(kLlama3_8b, device("h100-sxm"), in);
  EXPECT_EQ(h100.step("workload").branch, "long");
  EXPECT_TRUE(contains(h100.step("workload").reason, "32k+"));
  EXPECT_TRUE(contains(h100.step("workload").reason, "KV cache quantization"));
  EXPECT_EQ(h100.calculation.options.context, kLongContext);
  EXPECT_EQ(h100.ranking.front().kv_cache_dtype, "fp8");
  const Recommendation a100 = recommend(kLlama3_8b, device("a100-80gb"), in);
  EXPECT_EQ(a100.ranking.front().kv_cache_dtype, "int8");
  // A short workload at 64k tokens is a long one; a zero budget keeps the KV cache 16-bit.
  AdvisorInputs at64k = inputs(QualityBudget::zero);
  at64k.context = 65536;
  const Recommendation z = recommend(kLlama3_8b, device("h100-sxm"), at64k);
  EXPECT_EQ(z.step("workload").branch, "long");
  EXPECT_EQ(z.calculation.options.kv_dtype, KvDtype::bf16);
  const Recommendation large = recommend(kLlama3_8b, device("h100-sxm"),
                                         inputs(QualityBudget::large, Workload::long_context));
  EXPECT_EQ(large.calculation.options.kv_dtype, KvDtype::int4);
}

TEST(DecisionTree, LoraReservesAdapterMemoryAndDemotesScaleFolding) {
  const Recommendation plain =
      recommend(kLlama3_8b, device("a100-80gb"), inputs(QualityBudget::moderate));
  EXPECT_LT(rank_of(plain, "awq_int4"), rank_of(plain, "gguf_4bit"));
  const Recommendation r =
      recommend(kLlama3_8b, device("a100-80gb"), inputs(QualityBudget::moderate, Workload::lora));
  EXPECT_EQ(r.step("workload").branch, "lora");
  EXPECT_TRUE(contains(r.step("workload").reason, "multi-tenant LoRA"));
  // 8 adapters x rank 16 x (sum of in+out over 7 linears = 81920) x 32 layers x 2 bytes.
  EXPECT_DOUBLE_EQ(r.calculation.options.reserved_bytes, 8.0 * 16 * 81920 * 32 * 2);
  EXPECT_GT(rank_of(r, "awq_int4"), rank_of(r, "gguf_4bit"));
  EXPECT_GT(rank_of(r, "int8_smoothquant"), rank_of(r, "nf4"));
  bool noted = false;
  for (const auto& reason : choice(r, "awq_int4").reasons) noted |= contains(reason, "LoRA");
  EXPECT_TRUE(noted);
}

TEST(DecisionTree, ReasoningQuantizesKvAndDemotesLowBits) {
  const Recommendation r =
      recommend(kLlama3_8b, device("h100-sxm"), inputs(QualityBudget::large, Workload::reasoning));
  EXPECT_EQ(r.step("workload").branch, "reasoning");
  EXPECT_TRUE(contains(r.step("workload").reason, "long reasoning generations"));
  EXPECT_EQ(r.calculation.options.context, 16384);
  EXPECT_EQ(r.calculation.options.kv_dtype, KvDtype::fp8);
  EXPECT_FALSE(choice(r, "int3").within_budget);
  EXPECT_EQ(choice(r, "int3").expected_loss, 4);
  const Recommendation short_ctx =
      recommend(kLlama3_8b, device("h100-sxm"), inputs(QualityBudget::large));
  EXPECT_TRUE(choice(short_ctx, "int3").within_budget);
}

TEST(DecisionTree, ForcedKvDtypeIsKept) {
  AdvisorInputs in = inputs(QualityBudget::small, Workload::long_context);
  in.kv_dtype = KvDtype::int8;
  const Recommendation r = recommend(kLlama3_8b, device("h100-sxm"), in);
  EXPECT_EQ(r.ranking.front().kv_cache_dtype, "int8");
  EXPECT_TRUE(contains(r.step("workload").reason, "fixed by --kv-cache-dtype"));
}

// --- output -----------------------------------------------------------------------------

TEST(DecisionTree, CommandUsesABuiltinSchemeAndTheModelPath) {
  AdvisorInputs in = inputs(QualityBudget::small);
  in.model_argument = "/models/llama3-8b";
  const Recommendation r = recommend(kLlama3_8b, device("h100-sxm"), in);
  EXPECT_EQ(r.command,
            "lowbit quantize --model /models/llama3-8b --scheme fp8 --out "
            "/models/llama3-8b-fp8");
  for (const auto& c : r.ranking) EXPECT_NO_THROW(quant::find_scheme(c.scheme)) << c.scheme;
  EXPECT_EQ(r.ranking.size(), families().size());
  EXPECT_EQ(quantize_command("", "w4g128"),
            "lowbit quantize --model MODEL_DIR --scheme w4g128 --out OUT_DIR");
}

TEST(DecisionTree, RejectsBadContextAndNames) {
  AdvisorInputs in;
  in.context = -1;
  try {
    recommend(kLlama3_8b, device("h100-sxm"), in);
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_TRUE(contains(e.what(), "--context")) << e.what();
  }
  EXPECT_THROW(parse_workload("batch"), InvalidArgument);
  EXPECT_THROW(parse_quality("tiny"), InvalidArgument);
}

}  // namespace
}  // namespace lowbit::advisor
