// SPDX-License-Identifier: MIT
#include "cli/calibration_flags.h"

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <optional>

#include "cli/common.h"
#include "eval/text_file.h"
#include "model/kv_calibration.h"
#include "model/llama_config.h"
#include "ptq/calibration_windows.h"
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
  cmd->add_flag("--mse-clip", f.mse_clip,
                "GPTQ: search each group's range for the smallest squared error weighted by the "
                "Hessian diagonal");
  cmd->add_option("--alpha", f.alpha,
                  "SmoothQuant migration strength in [0, 1], or auto (searched per layer group)")
      ->capture_default_str();
  cmd->add_option("--threshold", f.threshold,
                  "llm-int8: input columns with any |x| >= this go through f32 (default 6)")
      ->check(CLI::PositiveNumber);
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

ptq::CalibratedModel quantize_with_flags(const ModelSource& source,
                                         const ptq::QuantizeOptions& given,
                                         const CalibrationFlags& flags, kernels::ExecContext& ctx,
                                         const std::filesystem::path& resume_dir) {
  const ptq::QuantizeOptions options = apply_activation_flags(given, flags);
  if (!ptq::needs_calibration(options)) {
    LB_CHECK_ARG(flags.calib.empty(), "--calib is given but scheme ",
                 options.linear ? options.linear->name : std::string("(none)"),
                 " does not use calibration data");
    auto progress = [](const ptq::QuantizeProgress& p) {
      log_info("[", p.done, "/", p.total, "] ", p.tensor, ": ", human_bytes(p.bytes_before), " -> ",
               human_bytes(p.bytes_after));
    };
    return {ptq::quantize_model(source, options, ctx, progress), {}};
  }
  LB_CHECK_ARG(!flags.calib.empty(), "scheme ", options.linear->name,
               " needs calibration text: give --calib FILE");
  const model::LlamaConfig config = model::LlamaConfig::from_json(source.config);
  const Tokenizer& tokenizer = require_tokenizer(source);
  const std::string text = eval::read_text_file(flags.calib, "--calib");
  const std::vector<int32_t> tokens = tokenizer.encode(text, /*add_bos=*/false);
  const int64_t seq_len = std::min(flags.seq_len, config.max_seq_len);
  const auto windows =
      ptq::calibration_windows(tokens, flags.samples, seq_len, flags.seed, tokenizer.bos_id());
  log_info("calibrate: ", windows.size(), " windows of ", seq_len, " tokens",
           tokenizer.bos_id() >= 0 ? " (BOS first)" : "", " from ", flags.calib, " (",
           tokens.size(), " tokens, seed ", flags.seed, ")");
  ptq::CalibrationOptions calibration;
  calibration.gptq.damp = flags.damp;
  calibration.gptq.block_size = flags.block_size;
  calibration.gptq.act_order = flags.act_order;
  calibration.gptq.static_groups = flags.act_order;
  calibration.gptq.mse_clip = flags.mse_clip;
  calibration.true_sequential = flags.true_sequential;
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
  return ptq::quantize_calibrated(source, options, windows, calibration, ctx, progress,
                                  store ? &*store : nullptr);
}

nlohmann::json layer_report_json(const ptq::CalibratedModel& model,
                                 const ptq::QuantizeOptions& options) {
  nlohmann::json layers = nlohmann::json::array();
  double error = 0, rtn = 0;
  int64_t better = 0;
  for (const ptq::LayerReport& r : model.report) {
    layers.push_back(ptq::to_json(r));
    error += r.error;
    rtn += r.rtn_error;
    better += r.error < r.rtn_error ? 1 : 0;
  }
  const auto n = static_cast<double>(model.report.size());
  return {{"scheme", options.name()},
          {"metric", "||W X - Q X||^2 / ||W X||^2 on the calibration inputs"},
          {"layers", layers},
          {"mean_relative_output_error", n > 0 ? error / n : 0.0},
          {"mean_rtn_relative_output_error", n > 0 ? rtn / n : 0.0},
          {"layers_better_than_rtn", better},
          {"calibration", model.model.quantization.value("calibration", nlohmann::json())}};
}

}  // namespace lowbit::cli
