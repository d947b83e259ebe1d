// SPDX-License-Identifier: MIT
// `lowbit generate`: text continuation (greedy at --temp 0, seeded sampling otherwise).
#include <cstdio>
#include <iostream>

#include "cli/calibration_flags.h"
#include "cli/common.h"
#include "cli/kv_cache_flags.h"
#include "cli/subcommands.h"
#include "model/sampler.h"
#include "ptq/model_loader.h"
#include "ptq/quantize_model.h"
#include "util/check.h"
#include "util/log.h"
#include "util/timer.h"

namespace lowbit::cli {
namespace {

struct GenerateArgs {
  ModelOptions model;
  SchemeOptions scheme;
  KvCacheFlags kv;
  CalibrationFlags kv_calibration;  // --calib: fp8 KV scales
  std::string prompt;
  int64_t steps = 256;
  float temperature = 0.0f;
  uint64_t seed = 42;
  bool json = false;
};

int run_generate(const GenerateArgs& a) {
  const auto scheme = resolve_scheme(a.scheme);
  kernels::KvFormat kv = kv_format_of(a.kv);
  LB_CHECK_ARG(a.kv_calibration.calib.empty() || kv.dtype == kernels::KvDtype::fp8,
               "--calib calibrates an fp8 KV cache; give --kv-cache-dtype fp8 with it");
  ModelSource source = open_model(a.model);
  if (scheme) decode_ggml_only_formats(source);
  const Tokenizer& tokenizer = require_tokenizer(source);
  kernels::ExecContext ctx = make_context(a.model);
  TensorMap tensors = source.tensors;
  if (scheme) {
    check_requantize(source, a.scheme);
    tensors = ptq::quantize_model(source, *scheme, ctx).tensors;
  }
  auto model = ptq::build_model(source.config, tensors);
  const auto& c = model->config();
  if (!a.kv_calibration.calib.empty())
    kv = calibrated_fp8_kv(a.kv_calibration, *model, tokenizer, ctx);

  std::vector<int32_t> prompt = tokenizer.encode(a.prompt, /*add_bos=*/true);
  if (prompt.empty()) prompt.push_back(c.bos_id);
  const int64_t total = static_cast<int64_t>(prompt.size()) + a.steps;
  LB_CHECK_ARG(total <= c.max_seq_len, "prompt (", prompt.size(), " tokens) + -n ", a.steps,
               " exceeds the model's context of ", c.max_seq_len);
  model::KvCache cache = model->make_cache(total, kv);
  model::Sampler sampler(a.temperature, a.seed);
  std::vector<float> logits(static_cast<size_t>(c.vocab_size));

  Timer timer;
  model->forward(prompt, 0, cache, logits.data(), ctx, nullptr, model::LlamaModel::Logits::last);
  const double prefill_seconds = timer.seconds();
  float* last = logits.data();
  std::vector<int32_t> generated;
  std::string text;
  int32_t prev = prompt.back();
  timer.reset();
  for (int64_t step = 0; step < a.steps; ++step) {
    const int32_t next = sampler.sample(last, c.vocab_size);
    // A BOS or EOS ends the sequence (llama2.c models delimit stories with BOS).
    if (next == tokenizer.bos_id() || next == tokenizer.eos_id()) break;
    generated.push_back(next);
    const std::string piece = tokenizer.decode_token(prev, next);
    text += piece;
    if (!a.json) {
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
    }
    prev = next;
    if (step + 1 == a.steps) break;
    const int32_t token[1] = {next};
    model->forward(token, static_cast<int64_t>(prompt.size()) + step, cache, logits.data(), ctx);
    last = logits.data();
  }
  const double decode_seconds = timer.seconds();
  const double tps =
      decode_seconds > 0 ? static_cast<double>(generated.size()) / decode_seconds : 0;
  if (a.json) {
    nlohmann::json out = {{"prompt", a.prompt},
                          {"prompt_tokens", prompt},
                          {"tokens", generated},
                          {"text", text},
                          {"kv_cache_dtype", a.kv.dtype},
                          {"kv_cache_bytes", cache.bytes()},
                          {"prefill_seconds", prefill_seconds},
                          {"decode_tokens_per_second", tps}};
    // fp8 caches: static scales from --calib, or dynamic (the prompt's amax).
    if (kv.dtype == kernels::KvDtype::fp8)
      out["kv_fp8_scales"] = kv.key_scales.empty() ? "dynamic" : "calibrated";
    print_json(out);
  } else {
    std::printf("\n");
    log_info("generate: ", generated.size(), " tokens, ", tps, " tokens/s decode");
  }
  return 0;
}

}  // namespace

void add_generate_command(CLI::App& app, std::function<int()>& action) {
  auto* cmd = app.add_subcommand("generate", "Generate text from a prompt");
  auto a = std::make_shared<GenerateArgs>();
  add_model_options(cmd, a->model);
  a->model.matmul = "int8";
  add_matmul_option(cmd, a->model.matmul);
  add_scheme_options(cmd, a->scheme);
  add_kv_cache_flags(cmd, a->kv, /*memory=*/false);
  cmd->add_option("--calib", a->kv_calibration.calib,
                  "Calibration text (UTF-8) for static fp8 KV-cache scales (amax / 448 per layer)");
  cmd->add_option("--calib-samples", a->kv_calibration.samples, "Calibration windows")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
      ->capture_default_str();
  cmd->add_option("--calib-seq-len", a->kv_calibration.seq_len,
                  "Tokens per calibration window (capped at the model's context)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 24))
      ->capture_default_str();
  cmd->add_option("-p,--prompt", a->prompt, "Prompt text (empty: start from BOS)");
  cmd->add_option("-n,--steps", a->steps, "Tokens to generate")->check(integer_range(1, 1 << 20));
  cmd->add_option("--temp", a->temperature, "Sampling temperature (0 = greedy)")
      ->check(number_range(0.0, 100.0));
  cmd->add_option("--seed", a->seed, "Sampling seed");
  cmd->add_flag("--json", a->json, "Print one JSON object");
  cmd->callback([&action, a] { action = [a] { return run_generate(*a); }; });
}

}  // namespace lowbit::cli
