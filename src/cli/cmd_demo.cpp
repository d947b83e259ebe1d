// SPDX-License-Identifier: MIT
// `lowbit demo`: the embedded default job. Generates a deterministic synthetic Llama model with
// activation outlier channels, writes and reloads it, samples an evaluation text from it, then
// quantizes it with every scheme and prints bits per weight, size, perplexity, KL divergence
// against the unquantized model, and speed.
#include <unistd.h>
#include <cstdio>

#include <filesystem>

#include "cli/common.h"
#include "cli/scheme_sweep.h"
#include "cli/subcommands.h"
#include "eval/perplexity.h"
#include "model/sampler.h"
#include "ptq/calibrated_quantize.h"
#include "ptq/calibration_windows.h"
#include "ptq/model_loader.h"
#include "ptq/synthetic_model.h"
#include "util/log.h"
#include "util/timer.h"

namespace lowbit::cli {
namespace {

struct DemoArgs {
  std::string preset = "demo";
  uint64_t seed = 1234;
  int threads = 0;
  int64_t text_tokens = 2048;
  int64_t ctx = 256;
  std::vector<std::string> schemes;
  bool json = false;
  std::string keep;  // directory to keep the synthetic model in
};

// Samples `n` tokens from the model at temperature 1, as sequences of up to `ctx` tokens each
// starting with BOS. The stream is scored as generated: re-tokenizing its text would not give
// the same ids, since sampled pieces need not be the tokenizer's canonical split.
std::vector<int32_t> sample_tokens(const model::LlamaModel& m, const Tokenizer& tok, int64_t n,
                                   int64_t ctx, uint64_t seed, kernels::ExecContext& ec) {
  model::Sampler sampler(1.0f, seed);
  std::vector<int32_t> stream;
  std::vector<float> logits(static_cast<size_t>(m.config().vocab_size));
  model::KvCache cache = m.make_cache(ctx);
  for (int64_t made = 0; made < n;) {
    std::vector<int32_t> seq = {tok.bos_id()};
    for (int64_t pos = 0; pos + 1 < ctx && made < n; ++pos, ++made) {
      const int32_t t[1] = {seq.back()};
      m.forward(t, pos, cache, logits.data(), ec);
      const int32_t next = sampler.sample(logits.data(), m.config().vocab_size);
      if (next == tok.bos_id() || next == tok.eos_id()) break;
      seq.push_back(next);
    }
    stream.insert(stream.end(), seq.begin(), seq.end());
  }
  return stream;
}

// Greedy decode speed in tokens per second over `steps` tokens after a BOS.
double decode_speed(const model::LlamaModel& m, int32_t bos, int64_t steps,
                    kernels::ExecContext& ec) {
  std::vector<float> logits(static_cast<size_t>(m.config().vocab_size));
  model::KvCache cache = m.make_cache(steps + 1);
  int32_t token = bos;
  Timer timer;
  for (int64_t pos = 0; pos < steps; ++pos) {
    const int32_t t[1] = {token};
    m.forward(t, pos, cache, logits.data(), ec);
    token = model::argmax(logits.data(), m.config().vocab_size);
  }
  return static_cast<double>(steps) / timer.seconds();
}

int run_demo(const DemoArgs& a) {
  ptq::SyntheticSpec spec = ptq::synthetic_preset(a.preset);
  spec.seed = a.seed;
  const std::filesystem::path dir =
      a.keep.empty() ? std::filesystem::temp_directory_path() /
                           concat("lowbit_demo_", a.preset, "_", a.seed, "_", ::getpid())
                     : std::filesystem::path(a.keep);
  log_info("demo: synthetic ", a.preset, " model (seed ", a.seed, ") -> ", dir.string());
  ptq::write_hf_model(dir, ptq::make_synthetic_model(spec), /*replace=*/true);
  ModelSource source = load_model_source(dir);
  if (a.keep.empty()) std::filesystem::remove_all(dir);
  const Tokenizer& tok = require_tokenizer(source);
  kernels::ExecContext ec(a.threads);
  auto baseline = ptq::build_model(source.config, source.tensors);

  log_info("demo: sampling ", a.text_tokens, " tokens of evaluation text from the f32 model");
  const std::vector<int32_t> tokens =
      sample_tokens(*baseline, tok, a.text_tokens, a.ctx, a.seed, ec);
  const eval::EvalOptions options{a.ctx, eval::Protocol::gptq, 0};

  std::vector<std::string> names = a.schemes;
  if (names.empty())
    for (const auto& s : quant::builtin_schemes()) names.push_back(s.name);
  SweepSetup setup;
  setup.source = &source;
  setup.base = baseline.get();
  setup.tokens = tokens;
  setup.bos_id = tok.bos_id();
  setup.options = options;
  // Schemes that calibrate (static activation scales, SmoothQuant) get windows of a second
  // sampled text, disjoint from the evaluation text.
  std::vector<std::vector<int32_t>> calibration;
  setup.quantize = [&](const ptq::QuantizeOptions& o) {
    if (!ptq::needs_calibration(o)) return ptq::quantize_model(source, o, ec);
    if (calibration.empty()) {
      const int64_t len = std::min<int64_t>(a.ctx, 128);
      const std::vector<int32_t> stream =
          sample_tokens(*baseline, tok, 8 * len, a.ctx, a.seed + 1, ec);
      calibration = ptq::calibration_windows(stream, 8, len, a.seed);
    }
    return ptq::quantize_calibrated(source, o, calibration, {}, ec).model;
  };
  nlohmann::json rows = nlohmann::json::array();
  run_sweep(setup, names, ec, [&](SweepRow& row, const model::LlamaModel& m) {
    if (row.scheme == "base") return;  // the f32 scheme is in the list
    nlohmann::json j = sweep_row_json(row);
    j["decode_tokens_per_second"] = decode_speed(m, tok.bos_id(), 32, ec);
    rows.push_back(std::move(j));
    log_info("demo: ", row.scheme, " done");
  });
  if (a.json) {
    print_json({{"model", {{"preset", a.preset}, {"seed", a.seed}, {"config", source.config}}},
                {"text_tokens", tokens.size()},
                {"ctx", a.ctx},
                {"protocol", "gptq"},
                {"schemes", rows}});
    return 0;
  }
  std::printf("lowbit demo: synthetic '%s' Llama (seed %llu), %zu evaluation tokens, ctx %lld\n",
              a.preset.c_str(), static_cast<unsigned long long>(a.seed), tokens.size(),
              static_cast<long long>(a.ctx));
  std::printf("%-12s %8s %8s %11s %10s %10s %7s %12s %11s\n", "scheme", "bits/w", "file b/w",
              "size", "ppl", "kld", "top1", "prefill t/s", "decode t/s");
  for (const auto& r : rows)
    std::printf(
        "%-12s %8.3f %8.3f %11s %10.4f %10.6f %6.1f%% %12.0f %11.1f\n",
        r["scheme"].get<std::string>().c_str(), r["bits_per_weight"].get<double>(),
        r["file_bits_per_weight"].get<double>(), human_bytes(r["bytes"].get<double>()).c_str(),
        r["ppl"].get<double>(), r["kld"].get<double>(), 100.0 * r["top1_agreement"].get<double>(),
        r["prefill_tokens_per_second"].get<double>(), r["decode_tokens_per_second"].get<double>());
  std::printf(
      "(bits/w over the linear layers, scales and zero-points included; file b/w and size over "
      "every tensor; kld = "
      "KL(f32 || scheme) per token; speeds on %d threads)\n",
      ec.threads());
  return 0;
}

}  // namespace

void add_demo_command(CLI::App& app, std::function<int()>& action) {
  auto* cmd =
      app.add_subcommand("demo", "Quantize a synthetic model with every scheme and compare");
  auto a = std::make_shared<DemoArgs>();
  cmd->add_option("--preset", a->preset,
                  "Synthetic model shape: demo, tiny, smollm2-135m or tinyllama-1.1b")
      ->check(CLI::IsMember({"demo", "tiny", "smollm2-135m", "tinyllama-1.1b"}));
  cmd->add_option("--seed", a->seed, "Model and text seed");
  cmd->add_option("-t,--threads", a->threads, "Worker threads (0 = all cores)");
  cmd->add_option("--text-tokens", a->text_tokens, "Tokens of sampled evaluation text")
      ->check(integer_range(16, 1 << 20));
  cmd->add_option("--ctx", a->ctx, "Evaluation window")->check(integer_range(8, 1 << 16));
  cmd->add_option("--schemes", a->schemes, "Schemes to compare (default: all)")->delimiter(',');
  cmd->add_option("--keep", a->keep, "Keep the synthetic model in this directory");
  cmd->add_flag("--json", a->json, "Print one JSON object");
  cmd->callback([&action, a] { action = [a] { return run_demo(*a); }; });
}

}  // namespace lowbit::cli
