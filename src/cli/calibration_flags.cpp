// SPDX-License-Identifier: MIT
#include "cli/calibration_flags.h"

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <map>
#include <optional>

#include "cli/common.h"
#include "eval/text_file.h"
#include "model/kv_calibration.h"
#include "model/llama_config.h"
#include "ptq/bit_allocation.h"
#include "ptq/calibration_windows.h"
#include "ptq/sensitivity.h"
#include "util/check.h"
#include "util/log.h"

namespace lowbit::cli {

void add_calibration_flags(CLI::App* cmd, CalibrationFlags& f) {
  cmd->add_option("--calib", f.calib,
                  "Calibration text (UTF-8 file) for gptq-* and awq-* schemes; keep it disjoint "
                  "from the evaluation text");
  cmd->add_option("--calib-samples", f.samples, "Calibration windows")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
      ->capture_default_str();
  cmd->add_option("--calib-seq-len", f.seq_len,
                  "Tokens per calibration window (capped at the model's context)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 24))
      ->capture_default_str();
  cmd->add_option("--seed", f.seed, "Seed of the calibration window positions")
      ->capture_default_str();
  cmd->add_option("--damp", f.damp, "GPTQ dampening, a fraction of the mean Hessian diagonal")
      ->check(CLI::Range(0.0, 10.0))
      ->capture_default_str();
  cmd->add_option("--block-size", f.block_size, "GPTQ lazy-update block (columns)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
      ->capture_default_str();
  cmd->add_flag("--act-order", f.act_order,
                "GPTQ: quantize columns by descending Hessian diagonal (static groups)");
  cmd->add_flag("--true-sequential", f.true_sequential,
                "GPTQ: observe each linear's input with the block's earlier linears already "
                "quantized (three more passes per block)");
  cmd->add_option("--match-float", f.match_float,
                  "GPTQ: move each linear's target toward the unquantized model's output by this "
                  "strength in [0, 1] (0 off), correcting part of earlier layers' drift")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_flag("--mse-clip", f.mse_clip,
                "GPTQ: search each group's range for the smallest squared error weighted by the "
                "Hessian diagonal");
  cmd->add_option("--alpha", f.alpha,
                  "SmoothQuant migration strength in [0, 1], or auto (searched per layer group)")
      ->capture_default_str();
  cmd->add_option("--threshold", f.threshold,
                  "llm-int8: input columns with any |x| >= this go through f32 (default 6)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--mix", f.mix,
                  "Mixed bit widths: the linears whose rounding costs the model most (KL per "
                  "extra bit, measured on --calib) get this scheme, within --target-bpw");
  cmd->add_option("--target-bpw", f.target_bpw,
                  "With --mix: the most bits per weight the linear layers may average")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--mix-sensitivity", f.mix_sensitivity,
                  "With --mix: take the sensitivities from this --report of an earlier --mix run "
                  "(same model and rounding) instead of measuring them again");
  cmd->add_option("--mix-samples", f.mix_samples,
                  "With --mix: calibration windows the sensitivities are measured on")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
      ->capture_default_str();
}

namespace {

// --threshold and --alpha, checked against the scheme they apply to.
ptq::QuantizeOptions apply_activation_flags(ptq::QuantizeOptions options,
                                            const CalibrationFlags& flags) {
  const bool split = options.linear && options.linear->act.kind == ActQuantKind::int8_outlier_split;
  if (flags.threshold) {
    LB_CHECK_ARG(split, "--threshold applies to the llm-int8 scheme only");
    LB_CHECK_ARG(std::isfinite(*flags.threshold), "--threshold must be finite");
    options.linear->act.threshold = static_cast<float>(*flags.threshold);
  }
  const bool smooth = options.linear && options.linear->algorithm == "smoothquant";
  LB_CHECK_ARG(flags.alpha == "0.5" || smooth, "--alpha applies to smoothquant schemes only");
  return options;
}

double parse_alpha(const std::string& alpha) {
  if (alpha == "auto") return -1.0;
  size_t used = 0;
  double v = -1;
  try {
    v = std::stod(alpha, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  LB_CHECK_ARG(used == alpha.size() && used > 0 && v >= 0.0 && v <= 1.0,
               "--alpha must be a number in [0, 1] or auto, got '", alpha, "'");
  return v;
}

}  // namespace

namespace {

// The files a model is read from (one file, or a directory's regular files) by name, size and
// modification time: what a resumed run must find unchanged. Hashing the bytes would read the
// whole model again, which is what the block store exists to avoid.
nlohmann::json model_identity(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  const auto entry = [](const fs::path& p) {
    return nlohmann::json{{"file", p.filename().string()},
                          {"bytes", fs::file_size(p)},
                          {"mtime", fs::last_write_time(p).time_since_epoch().count()}};
  };
  nlohmann::json files = nlohmann::json::array();
  if (fs::is_directory(path)) {
    std::vector<fs::path> names;
    for (const auto& e : fs::directory_iterator(path))
      if (e.is_regular_file()) names.push_back(e.path());
    std::sort(names.begin(), names.end());
    for (const fs::path& p : names) files.push_back(entry(p));
  } else {
    files.push_back(entry(path));
  }
  return {{"path", fs::absolute(path).lexically_normal().string()}, {"files", files}};
}

// Fault injection for the resume test: LOWBIT_CALIB_KILL_AFTER_BLOCK=N kills the process
// (SIGKILL: no cleanup, as a power cut or the OOM killer would) once block N is finished.
void kill_if_asked(int64_t blocks_done) {
  const char* value = std::getenv("LOWBIT_CALIB_KILL_AFTER_BLOCK");
  if (value && std::atoll(value) == blocks_done) std::raise(SIGKILL);
}

}  // namespace

kernels::KvFormat calibrated_fp8_kv(const CalibrationFlags& flags, const model::LlamaModel& model,
                                    const Tokenizer& tokenizer, kernels::ExecContext& ctx) {
  const std::string text = eval::read_text_file(flags.calib, "--calib");
  const std::vector<int32_t> tokens = tokenizer.encode(text, /*add_bos=*/false);
  const int64_t seq_len = std::min(flags.seq_len, model.config().max_seq_len);
  const auto windows =
      ptq::calibration_windows(tokens, flags.samples, seq_len, flags.seed, tokenizer.bos_id());
  log_info("fp8 KV scales from ", windows.size(), " windows of ", seq_len, " tokens of ",
           flags.calib);
  return model::calibrate_fp8_kv(model, windows, ctx);
}

namespace {

// --mix-sensitivity's sensitivities, checked against the model and the rounding.
ptq::SensitivityRun reused_sensitivity(const model::LlamaConfig& config,
                                       const ptq::QuantizeOptions& options,
                                       const std::string& path) {
  const std::string probe = format_name(options.linear->format);
  ptq::SensitivityRun run = read_sensitivity_report(path);
  LB_CHECK_ARG(run.probe_format == probe, "--mix-sensitivity ", path, ": measured with ",
               run.probe_format, " rounding; --scheme ", options.linear->name, " rounds to ",
               probe);
  model::for_each_linear(config, [&](const std::string& name, const Shape&) {
    LB_CHECK_ARG(std::any_of(run.linears.begin(), run.linears.end(),
                             [&](const auto& l) { return l.name == name; }),
                 "--mix-sensitivity ", path, ": no sensitivity for ", name, " (another model?)");
  });
  return run;
}

// --mix's sensitivities measured on the first --mix-samples windows.
ptq::SensitivityRun measured_sensitivity(const ModelSource& source,
                                         const ptq::QuantizeOptions& options,
                                         const CalibrationFlags& flags,
                                         const std::vector<std::vector<int32_t>>& windows,
                                         kernels::ExecContext& ctx) {
  const std::vector<std::vector<int32_t>> probe_windows(
      windows.begin(),
      windows.begin() + std::min<int64_t>(flags.mix_samples, static_cast<int64_t>(windows.size())));
  ptq::SensitivityRun run;
  run.probe_format = format_name(options.linear->format);
  log_info("mix: measuring each linear's sensitivity (", run.probe_format, " rounding, ",
           probe_windows.size(), " windows)");
  run.windows = static_cast<int64_t>(probe_windows.size());
  run.window_tokens = static_cast<int64_t>(probe_windows[0].size());
  run.linears = ptq::measure_linear_sensitivity(
      source, *options.linear, probe_windows, ctx, [](const ptq::SensitivityProgress& p) {
        log_info("mix: [", p.done, "/", p.total, "] ", p.last->name, " KL ", p.last->kl, " (",
                 static_cast<int64_t>(p.seconds), " s)");
      });
  return run;
}

}  // namespace

ptq::SensitivityRun read_sensitivity_report(const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(eval::read_text_file(path, "--mix-sensitivity"));
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(concat(path, ": not a --report JSON file (", e.what(), ")"));
  }
  ptq::SensitivityRun run;
  try {
    const nlohmann::json& m = j.at("sensitivity");
    run.probe_format = m.at("probe_format").get<std::string>();
    run.windows = m.at("windows").get<int64_t>();
    run.window_tokens = m.at("window_tokens").get<int64_t>();
    for (const nlohmann::json& layer : j.at("layers")) {
      const double kl = layer.at("sensitivity_kl").get<double>();
      const std::string name = layer.at("name").get<std::string>();
      LB_CHECK_FORMAT(std::isfinite(kl) && kl >= 0, path, ": sensitivity of ", name, " is ", kl,
                      ", not a KL divergence");
      run.linears.push_back({name, 0, kl});
    }
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(
        concat(path, ": no sensitivities (written by quantize --mix --report): ", e.what()));
  }
  return run;
}

ptq::CalibratedModel quantize_with_flags(const ModelSource& source,
                                         const ptq::QuantizeOptions& given,
                                         const CalibrationFlags& flags, kernels::ExecContext& ctx,
                                         const std::filesystem::path& resume_dir) {
  ptq::QuantizeOptions options = apply_activation_flags(given, flags);
  const bool mix = !flags.mix.empty();
  LB_CHECK_ARG(mix == (flags.target_bpw > 0),
               mix ? "--mix needs --target-bpw B" : "--target-bpw needs --mix SCHEME");
  if (!ptq::needs_calibration(options) && !mix) {
    LB_CHECK_ARG(flags.calib.empty(), "--calib is given but scheme ",
                 options.linear ? options.linear->name : std::string("(none)"),
                 " does not use calibration data");
    auto progress = [](const ptq::QuantizeProgress& p) {
      log_info("[", p.done, "/", p.total, "] ", p.tensor, ": ", human_bytes(p.bytes_before), " -> ",
               human_bytes(p.bytes_after));
    };
    return {ptq::quantize_model(source, options, ctx, progress), {}};
  }
  LB_CHECK_ARG(!flags.calib.empty(), mix ? "--mix" : "scheme " + options.linear->name,
               " needs calibration text: give --calib FILE");
  const model::LlamaConfig config = model::LlamaConfig::from_json(source.config);
  std::optional<quant::Scheme> upgrade;
  ptq::SensitivityRun sensitivity;
  if (mix) {  // a budget that cannot work is refused before any measuring
    upgrade = quant::find_scheme(flags.mix);
    ptq::check_mix_budget(config, options, *upgrade, flags.target_bpw);
    if (!flags.mix_sensitivity.empty())
      sensitivity = reused_sensitivity(config, options, flags.mix_sensitivity);
  }
  const Tokenizer& tokenizer = require_tokenizer(source);
  const std::string text = eval::read_text_file(flags.calib, "--calib");
  const std::vector<int32_t> tokens = tokenizer.encode(text, /*add_bos=*/false);
  const int64_t seq_len = std::min(flags.seq_len, config.max_seq_len);
  const auto windows =
      ptq::calibration_windows(tokens, flags.samples, seq_len, flags.seed, tokenizer.bos_id());
  log_info("calibrate: ", windows.size(), " windows of ", seq_len, " tokens",
           tokenizer.bos_id() >= 0 ? " (BOS first)" : "", " from ", flags.calib, " (",
           tokens.size(), " tokens, seed ", flags.seed, ")");
  if (mix) {
    if (sensitivity.linears.empty()) {
      sensitivity = measured_sensitivity(source, options, flags, windows, ctx);
    } else {
      log_info("mix: sensitivities of ", sensitivity.linears.size(), " linears from ",
               flags.mix_sensitivity);
    }
    const ptq::MixPlan plan =
        ptq::plan_mixed_bits(sensitivity.linears, config, options, *upgrade, flags.target_bpw);
    log_info("mix: ", plan.upgraded.size(), " linears get ", upgrade->name, " (", plan.upgraded_kl,
             " of ", plan.total_kl, " summed KL): ", plan.base_bits_per_weight, " -> ",
             plan.bits_per_weight, " bits per weight");
    options = ptq::apply_mix_plan(std::move(options), plan, *upgrade, flags.target_bpw);
    if (!ptq::needs_calibration(options)) {
      ptq::CalibratedModel out{ptq::quantize_model(source, options, ctx), {}};
      out.sensitivity = std::move(sensitivity);
      return out;
    }
  }
  ptq::CalibrationOptions calibration;
  calibration.gptq.damp = flags.damp;
  calibration.gptq.block_size = flags.block_size;
  calibration.gptq.act_order = flags.act_order;
  calibration.gptq.static_groups = flags.act_order;
  calibration.gptq.mse_clip = flags.mse_clip;
  calibration.true_sequential = flags.true_sequential;
  calibration.match_float = flags.match_float;
  calibration.smooth.alpha = parse_alpha(flags.alpha);
  std::optional<ptq::BlockStore> store;
  if (!resume_dir.empty()) {
    nlohmann::json run = ptq::calibration_fingerprint(options, windows, calibration);
    run["model"] = model_identity(source.path);
    run["lowbit"] = LOWBIT_VERSION;
    store.emplace(resume_dir, run);
  }
  auto progress = [](const ptq::CalibrationProgress& p) {
    log_info("calibrate: block ", p.block, "/", p.blocks, p.resumed ? " resumed" : "", " (",
             static_cast<int64_t>(p.seconds), " s, ETA ", static_cast<int64_t>(p.eta_seconds),
             " s), largest relative output error ", p.worst_error, " (", p.worst_layer, ")");
    kill_if_asked(p.block);
  };
  ptq::CalibratedModel out = ptq::quantize_calibrated(source, options, windows, calibration, ctx,
                                                      progress, store ? &*store : nullptr);
  out.sensitivity = std::move(sensitivity);
  return out;
}

nlohmann::json layer_report_json(const ptq::CalibratedModel& model,
                                 const ptq::QuantizeOptions& options) {
  nlohmann::json layers = nlohmann::json::array();
  double error = 0, rtn = 0;
  int64_t better = 0;
  std::map<std::string, double, std::less<>> kl;
  for (const ptq::LinearSensitivity& s : model.sensitivity.linears) kl[s.name] = s.kl;
  for (const ptq::LayerReport& r : model.report) {
    layers.push_back(ptq::to_json(r));
    if (const auto it = kl.find(r.name); it != kl.end())
      layers.back()["sensitivity_kl"] = it->second;
    error += r.error;
    rtn += r.rtn_error;
    better += r.error < r.rtn_error ? 1 : 0;
  }
  if (model.report.empty())  // a data-free mix: the sensitivities alone
    for (const ptq::LinearSensitivity& s : model.sensitivity.linears)
      layers.push_back({{"name", s.name}, {"sensitivity_kl", s.kl}});
  const auto n = static_cast<double>(model.report.size());
  nlohmann::json out = {
      {"scheme", model.model.quantization.value("scheme", options.name())},
      {"metric", "||W X - Q X||^2 / ||W X||^2 on the calibration inputs"},
      {"layers", layers},
      {"mean_relative_output_error", n > 0 ? error / n : 0.0},
      {"mean_rtn_relative_output_error", n > 0 ? rtn / n : 0.0},
      {"layers_better_than_rtn", better},
      {"calibration", model.model.quantization.value("calibration", nlohmann::json())}};
  if (!model.sensitivity.linears.empty())
    out["sensitivity"] = {{"probe_format", model.sensitivity.probe_format},
                          {"windows", model.sensitivity.windows},
                          {"window_tokens", model.sensitivity.window_tokens},
                          {"metric", "KL(stored || this linear alone rounded), nats per position"}};
  return out;
}

}  // namespace lowbit::cli
