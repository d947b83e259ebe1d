// SPDX-License-Identifier: MIT
// `lowbit sweep`: every scheme on the same windows of one model, as one table and a
// size-vs-KL frontier plot.
#include <cstdio>

#include "cli/calibration_flags.h"
#include "cli/common.h"
#include "cli/frontier_plot.h"
#include "cli/scheme_sweep.h"
#include "cli/subcommands.h"
#include "eval/text_file.h"
#include "model/llama_config.h"
#include "ptq/model_loader.h"
#include "util/atomic_file.h"
#include "util/check.h"
#include "util/log.h"

namespace lowbit::cli {
namespace {

struct SweepArgs {
  ModelOptions model;
  TargetOptions targets;
  CalibrationFlags calibration;
  std::string text;
  std::vector<std::string> schemes;
  int64_t ctx = 0;
  std::string protocol = "gptq";
  int64_t chunks = 0;
  std::string plot;
  bool json = false;
};

void print_table(const std::vector<SweepRow>& rows) {
  std::printf("%-22s %8s %8s %11s %10s %10s %7s %9s\n", "scheme", "bits/w", "file b/w", "size",
              "ppl", "kld", "top1", "quant s");
  for (const SweepRow& r : rows)
    std::printf("%-22s %8.3f %8.3f %11s %10.4f %10.6f %6.2f%% %9.2f\n", r.scheme.c_str(),
                r.bits_per_weight, r.file_bits_per_weight,
                human_bytes(static_cast<double>(r.bytes)).c_str(), r.eval.ppl, r.eval.kld,
                100.0 * r.eval.top1_agreement, r.quantize_seconds);
}

int run_sweep_command(const SweepArgs& a) {
  LB_CHECK_ARG(a.plot.empty() || std::filesystem::path(a.plot).extension() == ".svg", "--plot ",
               a.plot, ": the plot is an SVG file; name it FILE.svg");
  const ptq::QuantizeOptions targets = resolve_quantize(SchemeOptions{}, a.targets);
  const auto needs_calibration = [&](const quant::Scheme& s) {
    return ptq::needs_calibration(ptq::QuantizeOptions{s, {}, {}, targets.rules});
  };
  std::vector<std::string> schemes = a.schemes;
  if (schemes.empty())  // every built-in; those that calibrate only with --calib
    for (const auto& s : quant::builtin_schemes())
      if (!a.calibration.calib.empty() || !needs_calibration(s)) schemes.push_back(s.name);
  for (const std::string& s : schemes)  // unknown names and missing --calib fail first
    LB_CHECK_ARG(!a.calibration.calib.empty() || !needs_calibration(quant::find_scheme(s)),
                 "scheme ", s, targets.rules.empty() ? "" : " with --tensor-type",
                 " needs calibration text: give --calib FILE");

  ModelSource source = open_model(a.model);
  decode_ggml_only_formats(source);  // every row quantizes
  const Tokenizer& tokenizer = require_tokenizer(source);
  const model::LlamaConfig config = model::LlamaConfig::from_json(source.config);
  const std::string text = eval::read_text_file(a.text, "--text");
  const std::vector<int32_t> tokens = tokenizer.encode(text, /*add_bos=*/true);
  kernels::ExecContext ctx = make_context(a.model);
  auto base = ptq::build_model(source.config, source.tensors);

  SweepSetup setup;
  setup.source = &source;
  setup.base = base.get();
  setup.tokens = tokens;
  setup.bos_id = tokenizer.bos_id();
  setup.options = {a.ctx > 0 ? a.ctx : std::min<int64_t>(512, config.max_seq_len),
                   eval::parse_protocol(a.protocol), a.chunks};
  setup.head = targets.head;
  setup.embed = targets.embed;
  setup.rules = targets.rules;
  setup.quantize = [&](const ptq::QuantizeOptions& o) {
    CalibrationFlags flags = a.calibration;
    // Data-free rows ignore --calib (unless --mix measures on it).
    if (!ptq::needs_calibration(o) && flags.mix.empty()) flags.calib.clear();
    // --alpha and --threshold apply to the rows of the schemes they belong to.
    if (!o.linear || o.linear->algorithm != "smoothquant") flags.alpha = CalibrationFlags{}.alpha;
    if (!o.linear || o.linear->act.kind != ActQuantKind::int8_outlier_split)
      flags.threshold.reset();
    return quantize_with_flags(source, o, flags, ctx).model;
  };
  const std::vector<SweepRow> rows = run_sweep(setup, schemes, ctx);

  if (!a.plot.empty()) {
    std::vector<PlotPoint> points;
    for (const SweepRow& r : rows)
      points.push_back({r.scheme, static_cast<double>(r.bytes), r.eval.kld});
    const std::string title =
        concat(source.path.filename().string(), ": size vs KL, ", rows[0].eval.windows, " x ",
               rows[0].eval.ctx, " tokens of ", std::filesystem::path(a.text).filename().string());
    write_file_atomic(a.plot, frontier_svg(points, title));
    log_info("sweep: wrote ", a.plot);
  }
  const eval::EvalResult& first = rows[0].eval;
  if (a.json) {
    nlohmann::json out = {{"model", a.model.model},     {"text", a.text},
                          {"protocol", first.protocol}, {"ctx", first.ctx},
                          {"windows", first.windows},   {"scored_tokens", first.scored_tokens},
                          {"threads", ctx.threads()},   {"rows", nlohmann::json::array()}};
    for (const SweepRow& r : rows) out["rows"].push_back(sweep_row_json(r));
    if (!a.plot.empty()) out["plot"] = a.plot;
    print_json(out);
    return 0;
  }
  std::printf("%s: protocol %s, ctx %lld, %lld windows, %lld scored tokens\n",
              source.path.string().c_str(), first.protocol.c_str(),
              static_cast<long long>(first.ctx), static_cast<long long>(first.windows),
              static_cast<long long>(first.scored_tokens));
  print_table(rows);
  std::printf(
      "(bits/w over the block linears, file b/w and size over every tensor; kld = KL(base || "
      "scheme) per token)\n");
  return 0;
}

}  // namespace

void add_sweep_command(CLI::App& app, std::function<int()>& action) {
  auto* cmd = app.add_subcommand(
      "sweep", "Evaluate many schemes on the same windows: one table and a size-vs-KL plot");
  auto a = std::make_shared<SweepArgs>();
  add_model_options(cmd, a->model);
  add_matmul_option(cmd, a->model.matmul);
  add_target_options(cmd, a->targets);
  add_calibration_flags(cmd, a->calibration);
  cmd->add_option("--text", a->text, "UTF-8 text file to score")->required();
  cmd->add_option("--schemes", a->schemes, "Comma-separated schemes (default: every built-in)")
      ->delimiter(',');
  cmd->add_option("--ctx", a->ctx, "Window length in tokens (default: min(512, model context))")
      ->check(CLI::Range(int64_t{2}, int64_t{1} << 24));
  cmd->add_option("--protocol", a->protocol, "gptq or llamacpp (see `lowbit eval --help`)")
      ->check(CLI::IsMember({"gptq", "llamacpp"}))
      ->capture_default_str();
  cmd->add_option("--chunks", a->chunks, "Score only the first N windows (0 = all)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--plot", a->plot, "Write the size-vs-KL frontier to FILE.svg");
  cmd->add_flag("--json", a->json, "Print one JSON object");
  cmd->callback([&action, a] { action = [a] { return run_sweep_command(*a); }; });
}

}  // namespace lowbit::cli
