// SPDX-License-Identifier: MIT
// `lowbit recommend`: the scheme advisor. Parses flags, resolves the model and hardware, runs the
// calculator and decision tree (advisor layer) and prints the table or one JSON object.
#include <iostream>
#include <optional>

#include "advisor/decision_tree.h"
#include "advisor/report.h"
#include "cli/subcommands.h"
#include "io/model_source.h"
#include "util/check.h"

namespace lowbit::cli {
namespace {

struct RecommendArgs {
  std::string model, params, shape, hardware, kv_dtype = "auto", quality = "small",
                                              workload = "short", measured;
  std::optional<double> bandwidth, memory;
  std::optional<int64_t> context;
  int64_t prompt_tokens = 512;
  bool json = false, list_hardware = false;
};

advisor::ModelShape resolve_model(const RecommendArgs& a) {
  LB_CHECK_ARG(a.model.empty() || (a.params.empty() && a.shape.empty()),
               "give either --model PATH or --params/--shape, not both");
  if (!a.model.empty()) return advisor::model_from_config(load_model_config(a.model), a.model);
  if (!a.params.empty())
    return advisor::model_from_params(advisor::parse_param_count(a.params), a.shape);
  LB_CHECK_ARG(!a.shape.empty(), "give --model PATH, --params N (e.g. 70B) or --shape NAME");
  return advisor::model_from_preset(a.shape);
}

int run_recommend(const RecommendArgs& a) {
  if (a.list_hardware) {
    std::cout << advisor::format_hardware_table();
    return 0;
  }
  // Cheap argument checks first, so a bad flag never waits for the cpu probe.
  advisor::AdvisorInputs in;
  in.quality = advisor::parse_quality(a.quality);
  in.workload = advisor::parse_workload(a.workload);
  if (a.kv_dtype != "auto") in.kv_dtype = advisor::parse_kv_dtype(a.kv_dtype);
  if (a.context)
    LB_CHECK_ARG(*a.context > 0, "--context must be a positive number of tokens, got ", *a.context);
  in.context = a.context;
  LB_CHECK_ARG(a.prompt_tokens > 0, "--prompt-tokens must be positive, got ", a.prompt_tokens);
  in.prompt_tokens = a.prompt_tokens;
  in.model_argument = a.model;
  const advisor::ModelShape model = resolve_model(a);
  if (!a.measured.empty()) in.measured = advisor::load_measured(a.measured);
  advisor::HardwareRequest request;
  if (!a.hardware.empty()) request.name = a.hardware;
  request.bandwidth_gbps = a.bandwidth;
  request.memory_gib = a.memory;
  const advisor::Hardware hardware = advisor::resolve_hardware(request);

  const advisor::Recommendation r = advisor::recommend(model, hardware, in);
  if (a.json)
    std::cout << advisor::to_json(r).dump(2) << '\n';
  else
    std::cout << advisor::format_report(r);
  return 0;
}

}  // namespace

void add_recommend_command(CLI::App& app, std::function<int()>& action) {
  auto* cmd = app.add_subcommand(
      "recommend", "Pick a scheme: memory, KV-cache and decode-latency calculator and advisor");
  auto a = std::make_shared<RecommendArgs>();
  cmd->add_option("--model", a->model,
                  "HF config.json directory, GGUF or lowbit checkpoint "
                  "(only the config is read)");
  cmd->add_option("--params", a->params, "Parameter count instead of a model: 70B, 6.7B, 350M");
  cmd->add_option("--shape", a->shape,
                  "Layer/head geometry preset for --params: llama2-7b, "
                  "llama2-13b, llama2-70b, llama3-8b, llama3-70b, mistral-7b, ... (default: "
                  "the nearest preset)");
  cmd->add_option("--hardware", a->hardware,
                  "Device from the table (see --list-hardware): "
                  "h100-sxm, h100-pcie, h200, b200, a100-80gb, a100-40gb, l40s, v100, t4, "
                  "rtx-4090, mi300x, cpu (default: cpu, or a custom device with --bandwidth)");
  cmd->add_option("--bandwidth", a->bandwidth,
                  "Memory bandwidth in GB/s (overrides the table; "
                  "skips the cpu probe)");
  cmd->add_option("--memory", a->memory, "Device memory in GiB (overrides the table)");
  cmd->add_option("--context", a->context,
                  "Tokens per sequence (default 2048; 32768 for "
                  "--workload long, 16384 for reasoning)");
  cmd->add_option("--prompt-tokens", a->prompt_tokens, "Prompt length for the prefill estimate")
      ->capture_default_str();
  cmd->add_option("--kv-cache-dtype", a->kv_dtype,
                  "KV cache dtype: auto, bf16, f16, fp8, int8, "
                  "int4, f32 (auto: chosen by the workload)")
      ->capture_default_str();
  cmd->add_option("--quality", a->quality, "Quality budget: zero, small, moderate, large")
      ->capture_default_str();
  cmd->add_option("--workload", a->workload,
                  "Workload: short, long (32k+), lora (multi-tenant "
                  "LoRA), reasoning (long generations)")
      ->capture_default_str();
  cmd->add_option("--measured", a->measured,
                  "Sweep/eval result JSON (per scheme KL and/or "
                  "perplexity); ranks by measured loss instead of the generic classes");
  cmd->add_flag("--json", a->json, "Print one JSON object");
  cmd->add_flag("--list-hardware", a->list_hardware, "Print the hardware table and exit");
  cmd->callback([&action, a] { action = [a] { return run_recommend(*a); }; });
}

}  // namespace lowbit::cli
