// SPDX-License-Identifier: MIT
// The decision tree: four steps, each recording its branch and reason, then a ranking of the
// algorithm families by (quality budget, devices needed, memory pressure, workload, hardware).
#include "advisor/decision_tree.h"

#include <algorithm>
#include <tuple>

#include "advisor/units.h"
#include "util/check.h"

namespace lowbit::advisor {
namespace {

enum class HwBranch { fp8_first, ampere, volta_turing, consumer, cpu, unknown };
enum class Pressure { none, some, tight, unknown };

HwBranch hardware_branch(const Hardware& hw) {
  if (hw.device_class == DeviceClass::cpu) return HwBranch::cpu;
  if (hw.device_class == DeviceClass::custom) return HwBranch::unknown;
  if (hw.device_class == DeviceClass::consumer) return HwBranch::consumer;
  switch (hw.generation) {
    case Generation::hopper:
    case Generation::blackwell:
    case Generation::ada:
    case Generation::cdna3:
      return HwBranch::fp8_first;
    case Generation::ampere:
      return HwBranch::ampere;
    case Generation::volta:
    case Generation::turing:
      return HwBranch::volta_turing;
    default:
      return HwBranch::unknown;
  }
}

// Family ids in the order each hardware branch prefers them.
std::vector<std::string_view> hardware_order(HwBranch b, const Hardware& hw) {
  switch (b) {
    case HwBranch::fp8_first:
      return {"fp8", "bf16", "awq_int4", "int8_smoothquant", "gguf_4bit", "nf4", "int3", "int2"};
    case HwBranch::ampere:
    case HwBranch::volta_turing:
      return {"int8_smoothquant", "awq_int4", "bf16", "gguf_4bit", "nf4", "fp8", "int3", "int2"};
    case HwBranch::consumer:
      if (hw.has_native("fp8"))
        return {"awq_int4", "gguf_4bit", "fp8", "int8_smoothquant", "bf16", "nf4", "int3", "int2"};
      return {"awq_int4", "gguf_4bit", "int8_smoothquant", "bf16", "nf4", "fp8", "int3", "int2"};
    case HwBranch::cpu:
      return {"gguf_4bit", "awq_int4", "int8_smoothquant", "bf16", "nf4", "fp8", "int3", "int2"};
    case HwBranch::unknown:
      return {"int8_smoothquant", "fp8", "awq_int4", "gguf_4bit", "bf16", "nf4", "int3", "int2"};
  }
  return {};
}

std::string_view hw_branch_name(HwBranch b) {
  switch (b) {
    case HwBranch::fp8_first:
      return "fp8_first";
    case HwBranch::ampere:
      return "ampere";
    case HwBranch::volta_turing:
      return "volta_turing";
    case HwBranch::consumer:
      return "consumer";
    case HwBranch::cpu:
      return "cpu";
    case HwBranch::unknown:
      return "unknown";
  }
  return "unknown";
}

std::string_view pressure_name(Pressure p) {
  switch (p) {
    case Pressure::none:
      return "none";
    case Pressure::some:
      return "some";
    case Pressure::tight:
      return "tight";
    case Pressure::unknown:
      return "unknown";
  }
  return "unknown";
}

// Lower ranks first: with some pressure 8-bit leads, with tight memory 4-bit does (3- and 2-bit
// only win when they are the ones that fit, which the devices key already decides).
int pressure_rank(Pressure p, int bits) {
  if (p == Pressure::some) return bits == 8 ? 0 : bits == 4 ? 1 : bits >= 16 ? 2 : bits + 1;
  if (p == Pressure::tight)
    return bits == 4 ? 0 : bits == 8 ? 1 : bits == 3 ? 2 : bits >= 16 ? 3 : 4;
  return 0;
}

std::string hardware_reason(HwBranch b, const Hardware& hw) {
  const std::string name = hw.display_name;
  const std::string half = hw.half_dtype();
  auto tf = [&](std::string_view dtype) { return fixed(hw.tflops_for(dtype).value_or(0), 0); };
  switch (b) {
    case HwBranch::fp8_first: {
      const std::string gen = hw.generation == Generation::hopper      ? "Hopper"
                              : hw.generation == Generation::blackwell ? "Blackwell"
                              : hw.generation == Generation::ada       ? "Ada, sm_89"
                                                                       : "CDNA3, FP8 as e4m3fnuz";
      return concat(name, " (", gen, ") has native FP8 tensor cores (", tf("fp8"),
                    " dense TFLOP/s FP8 vs ", tf(half), " ", half,
                    "): FP8 first; it halves the bytes read per token at near-BF16 quality");
    }
    case HwBranch::ampere:
      return concat(name,
                    " (Ampere) has INT8 and INT4 tensor cores but no FP8: INT8 SmoothQuant "
                    "(W8A8, ",
                    tf("int8"), " TOP/s) or AWQ INT4 (W4A16) when memory is short");
    case HwBranch::volta_turing:
      return concat(name, " (", generation_name(hw.generation),
                    ") has no BF16 or FP8 tensor cores: INT8 SmoothQuant first, FP16 for "
                    "unquantized layers",
                    hw.has_native("int8") ? ""
                                          : "; it has no INT8 tensor cores either (DP4A only), "
                                            "so INT8 mainly halves memory and bytes per token");
    case HwBranch::consumer:
      return concat(name, " is a consumer GPU (", fixed(hw.memory_bytes / kGiB, 0),
                    " GiB): memory is small and decode is bandwidth-bound, so AWQ INT4 or "
                    "GGUF-style 4-bit");
    case HwBranch::cpu:
      return concat("CPU (", fixed(hw.bandwidth_bytes_per_s / 1e9, 1), " GB/s ",
                    hw.bandwidth_source,
                    "): decode is bound by memory bandwidth, so GGUF-style "
                    "4-bit (blocks of 32) or AWQ INT4");
    case HwBranch::unknown:
      return concat("no --hardware given (", fixed(hw.bandwidth_bytes_per_s / 1e9, 0),
                    " GB/s): generation unknown, so the portable order: INT8, FP8 (needs Ada, "
                    "Hopper, Blackwell or MI300), then 4-bit; name --hardware for a "
                    "generation-specific order");
  }
  return "";
}

struct MemoryAssessment {
  Pressure pressure = Pressure::unknown;
  std::string reason;
};

MemoryAssessment assess_memory(const Calculation& calc, std::string_view half_scheme) {
  MemoryAssessment m;
  const double usable = calc.usable_memory_bytes;
  if (usable <= 0) {
    m.reason =
        "device memory unknown (give --hardware or --memory): memory pressure not "
        "assessed, no choice is demoted for size";
    return m;
  }
  const double extra = calc.options.reserved_bytes;
  auto need = [&](const SchemeEstimate& e) {
    return e.total_bytes + extra + e.kv_bytes_per_sequence;
  };
  const SchemeEstimate& half = calc.scheme(half_scheme);
  const SchemeEstimate& eight = calc.scheme("fp8");
  const SchemeEstimate& four = calc.scheme("w4g128");
  const SchemeEstimate& two = calc.scheme("w2g32");
  const std::string ctx = concat(calc.options.context, "-token sequence");
  if (need(half) <= 0.75 * usable) {
    m.pressure = Pressure::none;
    m.reason = concat(half_scheme, " needs ", gb(need(half)), " (weights, scales and one ", ctx,
                      ") of ", gb(usable), " usable (", fixed(100 * need(half) / usable, 0),
                      "%): no memory pressure, precision follows the hardware");
  } else if (need(eight) <= usable) {
    m.pressure = Pressure::some;
    m.reason = concat(half_scheme, " needs ", gb(need(half)), " of ", gb(usable), " usable",
                      *half.fits ? " (over 75%, little room for KV cache)"
                                 : concat(" (", *half.devices_needed, " devices)"),
                      "; 8-bit needs ", gb(need(eight)), " and fits with room for ",
                      *eight.max_sequences, " sequences: some memory pressure, 8-bit first");
  } else {
    m.pressure = Pressure::tight;
    m.reason = concat("8-bit needs ", gb(need(eight)), ", more than the ", gb(usable),
                      " usable: tight memory, 4-bit first; 4-bit needs ", gb(need(four)),
                      *four.fits ? concat(" and fits (", *four.max_sequences, " sequences)")
                                 : concat(" (", *four.devices_needed, " devices)"));
    if (!*two.fits)
      m.reason += concat("; no scheme fits one device (even 2-bit needs ", *two.devices_needed,
                         "): plan for tensor parallelism");
  }
  return m;
}

std::string quality_reason(QualityBudget q) {
  switch (q) {
    case QualityBudget::zero:
      return "quality budget zero: only unquantized weights are within budget; FP8 (near-"
             "lossless) is the closest alternative";
    case QualityBudget::small:
      return "quality budget small: 8-bit (FP8 / INT8) is within budget; 4-bit only when memory "
             "forces it";
    case QualityBudget::moderate:
      return "quality budget moderate: 4-bit (AWQ INT4 g128, GGUF-style 4-bit, NF4) is within "
             "budget";
    case QualityBudget::large:
      return "quality budget large: 3-bit is within budget when memory demands it; 2-bit stays "
             "a last resort";
  }
  return "";
}

}  // namespace

const DecisionStep& Recommendation::step(std::string_view name) const {
  for (const auto& s : steps)
    if (s.step == name) return s;
  throw InvalidArgument(concat("no decision step '", name, "'"));
}

std::string quantize_command(std::string_view model_argument, std::string_view scheme) {
  const std::string model = model_argument.empty() ? "MODEL_DIR" : std::string(model_argument);
  const bool quote = model.find_first_of(" \t'\"$`\\") != std::string::npos;
  const std::string shown = quote ? concat("'", model, "'") : model;
  return concat("lowbit quantize --model ", shown, " --scheme ", scheme, " --out ",
                quote || model_argument.empty() ? "OUT_DIR" : concat(model, "-", scheme));
}

Recommendation recommend(const ModelShape& model, const Hardware& hw, const AdvisorInputs& in) {
  Recommendation r;
  r.quality = in.quality;
  const HwBranch hw_branch = hardware_branch(hw);
  r.steps.push_back(
      {"hardware", std::string(hw_branch_name(hw_branch)), hardware_reason(hw_branch, hw)});

  // The workload fixes the context, the KV dtype and any reserved memory before the numbers.
  CalculatorOptions opts;
  opts.context = in.context.value_or(default_context(in.workload));
  opts.prompt_tokens = in.prompt_tokens;
  LB_CHECK_ARG(opts.context > 0, "--context must be a positive number of tokens, got ",
               opts.context);
  r.workload = in.workload == Workload::short_context && opts.context >= kLongContext
                   ? Workload::long_context
                   : in.workload;
  const WorkloadPlan plan = plan_workload(r.workload, in.quality, in.kv_dtype, hw, model);
  opts.kv_dtype = plan.kv_dtype;
  opts.reserved_bytes = plan.reserved_bytes;
  r.calculation = calculate(model, hw, opts);

  const std::string half_scheme = unquantized_scheme(hw);
  const MemoryAssessment memory = assess_memory(r.calculation, half_scheme);
  r.steps.push_back({"memory", std::string(pressure_name(memory.pressure)), memory.reason});

  DecisionStep quality{"quality", std::string(quality_name(in.quality)),
                       quality_reason(in.quality)};
  if (in.measured) {
    quality.branch = "measured";
    quality.reason =
        concat("measured quality from ", in.measured->label, " replaces the generic loss classes (",
               describe_measured(*in.measured), "); budget ", quality_name(in.quality));
  }
  r.steps.push_back(quality);
  r.steps.push_back({"workload", std::string(workload_name(r.workload)),
                     workload_reason(r.workload, plan, r.calculation)});

  // Rank: inside the budget first, then fewer devices, then the memory-pressure, workload and
  // hardware preferences.
  const auto order = hardware_order(hw_branch, hw);
  std::vector<std::pair<std::tuple<int, int64_t, int, int, int>, Choice>> keyed;
  for (size_t i = 0; i < order.size(); ++i) {
    const Family& f = find_family(order[i]);
    Choice c = make_choice(f, r.calculation, r.workload, in.quality, in.measured);
    const SchemeEstimate& e = r.calculation.scheme(c.scheme);
    const int over = std::max(0, c.expected_loss - static_cast<int>(in.quality));
    keyed.push_back({{over, e.devices_needed.value_or(1), pressure_rank(memory.pressure, f.bits),
                      workload_rank(r.workload, f.id), static_cast<int>(i)},
                     std::move(c)});
  }
  std::stable_sort(keyed.begin(), keyed.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [key, choice] : keyed) {
    choice.rank = static_cast<int>(r.ranking.size()) + 1;
    r.ranking.push_back(std::move(choice));
  }
  r.command = quantize_command(in.model_argument, r.ranking.front().scheme);
  return r;
}

}  // namespace lowbit::advisor
