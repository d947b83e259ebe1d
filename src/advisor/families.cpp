// SPDX-License-Identifier: MIT
// The family table and the per-choice reasons.
#include "advisor/families.h"

#include <algorithm>

#include "advisor/units.h"
#include "util/check.h"

namespace lowbit::advisor {
namespace {

bool is_gpu(const Hardware& hw) {
  return hw.device_class == DeviceClass::datacenter || hw.device_class == DeviceClass::consumer;
}

std::string hardware_note(const Family& f, const Hardware& hw) {
  const std::string half = hw.half_dtype();
  auto tf = [&](std::string_view dtype) { return fixed(hw.tflops_for(dtype).value_or(0), 0); };
  if (f.id == "fp8") {
    if (hw.has_native("fp8"))
      return concat("native FP8 tensor cores: ", tf("fp8"), " dense TFLOP/s vs ", tf(half), " ",
                    half);
    if (is_gpu(hw))
      return concat("no FP8 tensor cores on ", hw.display_name,
                    ": runs weight-only (FP8-Marlin W8A16), no compute gain");
    if (hw.device_class == DeviceClass::cpu) return "CPU: FP8 weights are decoded in software";
    return "W8A8 needs FP8 tensor cores (Ada, Hopper, Blackwell, MI300)";
  }
  if (f.id == "int8_smoothquant") {
    if (hw.has_native("int8")) return concat("INT8 tensor cores: ", tf("int8"), " dense TOP/s");
    if (is_gpu(hw))
      return concat("no INT8 tensor cores on ", hw.display_name,
                    ": halves memory and bytes per token, no compute gain");
    if (hw.device_class == DeviceClass::cpu) return "CPU: int8 dot products (VNNI where present)";
    return "INT8 W8A8 runs on NVIDIA GPUs since Turing";
  }
  if (f.id == "bf16") {
    if (hw.tflops_for(half))
      return concat("unquantized ", half, " matmuls: ", tf(half), " dense TFLOP/s");
    return "unquantized: reads 16 bits per weight per token";
  }
  return concat("weight-only (W", f.bits, "A16): dequantized inside the matmul, so decode reads ",
                f.bits, " bits per weight plus scales");
}

std::string memory_note(const SchemeEstimate& e, const Calculation& calc) {
  const std::string stored = concat(gb(e.total_bytes), " stored (", gb(e.weight_bytes),
                                    " weights + ", gb(e.scale_overhead_bytes), " scales + ",
                                    gb(e.unquantized_bytes), " unquantized layers)");
  if (!e.fits) return stored;
  const double need = e.total_bytes + calc.options.reserved_bytes + e.kv_bytes_per_sequence;
  if (*e.fits)
    return concat(stored, "; fits one device: ", gb(need), " of ", gb(calc.usable_memory_bytes),
                  " usable, ", *e.max_sequences, " concurrent sequences of ", calc.options.context,
                  " tokens");
  return concat(stored, "; does not fit one device: needs ", *e.devices_needed, " devices (",
                gb(need), " for one sequence)");
}

}  // namespace

const std::vector<Family>& families() {
  static const std::vector<Family> table = {
      {"bf16", "BF16 (unquantized)", "bf16", 0, 16, "lowbit scheme bf16: weights kept in bfloat16",
       "no quantization loss"},
      {"fp8", "FP8 W8A8 (e4m3 weights per channel, dynamic per-token activations)", "fp8", 1, 8,
       "lowbit scheme fp8: e4m3 per-channel weights; the serving engine quantizes activations per "
       "token",
       "ModelOpt MMLU vs BF16: Llama-3.1-70B -0.38%, 8B -1.5%"},
      {"int8_smoothquant", "INT8 W8A8 SmoothQuant", "w8", 1, 8,
       "closest lowbit scheme today: w8 (int8 per-channel RTN weights); SmoothQuant's activation "
       "smoothing is not in lowbit yet",
       "SmoothQuant W8A8 wikitext ppl: Llama-2-70B 3.32 -> 3.36, 7B 5.47 -> 5.52"},
      {"awq_int4", "AWQ INT4 g128 (W4A16)", "w4g128", 2, 4,
       "closest lowbit scheme today: w4g128 (RTN, asymmetric, groups of 128); the AWQ scale "
       "search is not in lowbit yet",
       "AWQ INT4 g128 wikitext ppl: Llama-2-7B 5.47 -> 5.60, 70B 3.32 -> 3.41"},
      {"gguf_4bit", "GGUF-style 4-bit, blocks of 32 (Q4_0/Q4_K-like)", "w4g32", 2, 4,
       "closest lowbit scheme today: w4g32 (RTN, asymmetric, groups of 32)",
       "4-bit with small blocks, llama.cpp's everyday choice"},
      {"nf4", "NF4, double-quantized scales (QLoRA base)", "nf4-dq", 2, 4,
       "lowbit scheme nf4-dq: NF4 blocks of 64, absmax double-quantized to 8 bits (QLoRA)",
       "NF4 with double quantization beats INT4 and FP4 in the QLoRA paper"},
      {"int3", "3-bit g128 (W3A16)", "w3g128", 3, 3, "lowbit scheme w3g128 (RTN)",
       "AWQ Mistral-7B-Instruct ppl 4.14 -> 4.30 at 4 bits, 4.83 at 3 bits"},
      {"int2", "2-bit g32 (W2A16)", "w2g32", 4, 2, "lowbit scheme w2g32 (RTN)",
       "2-bit round-to-nearest breaks most models"},
  };
  return table;
}

const Family& find_family(std::string_view id) {
  for (const auto& f : families())
    if (f.id == id) return f;
  throw InvalidArgument(concat("unknown advisor family '", id, "'"));
}

std::string unquantized_scheme(const Hardware& hw) {
  return is_gpu(hw) && !hw.has_native("bf16") ? "f16" : "bf16";
}

std::string loss_name(int loss) {
  return loss >= 4 ? "beyond large" : std::string(quality_name(static_cast<QualityBudget>(loss)));
}

std::string describe_measured(const MeasuredQuality& measured) {
  std::string out;
  for (const auto& m : measured.entries) {
    const auto loss = measured.loss_class(m.scheme);
    out += concat(out.empty() ? "" : "; ", m.scheme, ": ", measured.describe(m.scheme), " -> ",
                  loss ? std::string(quality_name(*loss)) : std::string("unclassified"));
  }
  return out;
}

Choice make_choice(const Family& f, const Calculation& calc, Workload workload,
                   QualityBudget budget, const std::optional<MeasuredQuality>& measured) {
  const Hardware& hw = calc.hardware;
  Choice c;
  c.family = std::string(f.id);
  c.label = std::string(f.label);
  c.scheme = std::string(f.scheme);
  if (f.id == "bf16" && unquantized_scheme(hw) == "f16") {
    c.label = "FP16 (unquantized)";
    c.scheme = "f16";
  }
  c.kv_cache_dtype = std::string(kv_dtype_info(calc.options.kv_dtype).name);
  const SchemeEstimate& e = calc.scheme(c.scheme);

  c.expected_loss = f.loss;
  std::string quality = concat("expected loss ", loss_name(f.loss), ": ", f.evidence);
  if (measured) {
    if (const auto cls = measured->loss_class(c.scheme)) {
      c.expected_loss = static_cast<int>(*cls);
      c.loss_measured = true;
      quality = concat("measured ", measured->describe(c.scheme), " -> loss ",
                       loss_name(c.expected_loss));
    } else {
      quality += " (not measured: generic estimate)";
    }
  }
  std::string workload_note;
  if (workload == Workload::reasoning && f.bits <= 3 && !c.loss_measured) {
    c.expected_loss = std::min(4, c.expected_loss + 1);
    workload_note =
        concat("long generations compound errors: loss raised to ", loss_name(c.expected_loss));
  }
  if (workload_rank(workload, f.id) > 0)
    workload_note =
        "LoRA: folds scales into the norms the adapters read from; ranked behind "
        "data-free formats";
  c.within_budget = c.expected_loss <= static_cast<int>(budget);
  quality +=
      concat(c.within_budget ? " (within" : " (exceeds", " budget ", quality_name(budget), ")");

  c.reasons.push_back(hardware_note(f, hw));
  c.reasons.push_back(memory_note(e, calc));
  c.reasons.push_back(concat("min decode ", fixed(e.min_decode_ms, 1),
                             " ms/token: ", gb(e.weight_bytes + e.kv_bytes_per_sequence),
                             " read per token at ", fixed(hw.bandwidth_bytes_per_s / 1e9, 0),
                             " GB/s (", fixed(e.decode_ms_with_overhead, 1),
                             " ms counting every stored byte)"));
  c.reasons.push_back(quality);
  if (!workload_note.empty()) c.reasons.push_back(workload_note);
  c.reasons.push_back(concat("KV cache ", c.kv_cache_dtype, ": ",
                             fixed(e.kv_bytes_per_token / 1024.0, 0), " KiB per token"));
  c.reasons.push_back(std::string(f.lowbit_note));
  return c;
}

}  // namespace lowbit::advisor
