// SPDX-License-Identifier: MIT
// `lowbit quantize`: applies a scheme and writes a lowbit checkpoint directory (atomically).
#include <cstdio>

#include "cli/calibration_flags.h"
#include "cli/common.h"
#include "cli/subcommands.h"
#include "io/checkpoint.h"
#include "ptq/block_store.h"
#include "ptq/quantize_model.h"
#include "util/atomic_file.h"
#include "util/check.h"
#include "util/log.h"
#include "util/timer.h"

namespace lowbit::cli {
namespace {

struct QuantizeArgs {
  ModelOptions model;
  SchemeOptions scheme;
  TargetOptions targets;
  CalibrationFlags calibration;
  std::string report;
  std::string out;
  bool force = false;
  bool json = false;
};

// OUT.partial: where a calibrated run keeps its finished blocks until OUT is written.
std::filesystem::path partial_run_dir(const std::string& out) {
  std::filesystem::path p = std::filesystem::path(out).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();  // "dir/" names "dir"
  return p.string() + ".partial";
}

int run_quantize(const QuantizeArgs& a) {
  const ptq::QuantizeOptions quantize = resolve_quantize(a.scheme, a.targets);
  LB_CHECK_ARG(!quantize.empty(),
               "give --scheme NAME (see `lowbit schemes`), --bits N, --head or --embed");
  LB_CHECK_ARG(a.report.empty() || ptq::needs_calibration(quantize),
               "--report needs a calibrated scheme (gptq-*) and --calib: the errors are measured "
               "on the calibration inputs");
  check_output_directory(a.out, a.force, io::is_lowbit_checkpoint, "a lowbit checkpoint");
  const std::filesystem::path resume_dir =
      ptq::needs_calibration(quantize) ? partial_run_dir(a.out) : std::filesystem::path();
  if (!resume_dir.empty()) ptq::BlockStore::check_location(resume_dir);
  ModelSource source = open_model(a.model);
  if (const std::string problem = tokenizer_problem(source); !problem.empty()) {
    log_warning("the checkpoint gets no tokenizer: ", problem);
  }
  const std::string baseline = check_requantize(source, a.scheme);
  kernels::ExecContext ctx = make_context(a.model);
  Timer timer;
  // Calibrated runs keep finished blocks beside the output (resume_dir), so a killed run
  // resumes.
  ptq::CalibratedModel calibrated;
  try {
    calibrated = quantize_with_flags(source, quantize, a.calibration, ctx, resume_dir);
  } catch (...) {
    std::error_code ec;
    if (!resume_dir.empty() && std::filesystem::exists(resume_dir / "manifest.json", ec))
      log_info("finished blocks are kept in ", resume_dir.string(),
               "; the same command resumes from them");
    throw;
  }
  ptq::QuantizedModel& q = calibrated.model;
  if (!a.report.empty())
    write_file_atomic(a.report, layer_report_json(calibrated, quantize).dump(2) + "\n");
  nlohmann::json quantization = q.quantization;
  quantization["source"] = source.path.string();
  quantization["source_format"] = source.format;
  // What the scheme was applied to: the original weights, or a quantized model's dequantized
  // values (then the source's own scheme is kept too).
  quantization["quantized_from"] = baseline;
  if (const std::string stored = stored_quantization(source); !stored.empty())
    quantization["source_scheme"] = stored;
  const std::shared_ptr<Tokenizer> tokenizer = source.tokenizer;
  io::write_checkpoint(
      a.out, source.config, quantization, q.tensors,
      [&](const std::filesystem::path& dir) {
        if (tokenizer) tokenizer->save(dir);
      },
      a.force);
  if (!resume_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(resume_dir, ec);
    if (ec) log_warning("could not remove ", resume_dir.string(), ": ", ec.message());
  }
  const double seconds = timer.seconds();
  if (a.json) {
    print_json({{"out", a.out},
                {"scheme", quantize.name()},
                {"quantized_from", baseline},
                {"bytes", q.bytes},
                {"bits_per_weight", q.linear_bits_per_weight},
                {"file_bits_per_weight", q.file_bits_per_weight},
                {"seconds", seconds}});
  } else {
    std::printf(
        "wrote %s: scheme %s from %s, %s, %.4f bits per weight over the linear layers, %.4f over "
        "all tensors (%.1f s)\n",
        a.out.c_str(), quantize.name().c_str(), baseline.c_str(),
        human_bytes(static_cast<double>(q.bytes)).c_str(), q.linear_bits_per_weight,
        q.file_bits_per_weight, seconds);
  }
  return 0;
}

}  // namespace

void add_quantize_command(CLI::App& app, std::function<int()>& action) {
  auto* cmd = app.add_subcommand("quantize", "Quantize a model and write a lowbit checkpoint");
  auto a = std::make_shared<QuantizeArgs>();
  add_model_options(cmd, a->model);
  add_scheme_options(cmd, a->scheme);
  add_target_options(cmd, a->targets);
  add_calibration_flags(cmd, a->calibration);
  cmd->add_option("--report", a->report,
                  "Write per-layer relative output errors (method and RTN) to FILE.json");
  cmd->add_option("-o,--out", a->out, "Output checkpoint directory (new or empty; see --force)")
      ->required();
  cmd->add_flag("--force", a->force, "Replace an existing lowbit checkpoint at --out");
  cmd->add_flag("--json", a->json, "Print one JSON object");
  cmd->callback([&action, a] { action = [a] { return run_quantize(*a); }; });
}

}  // namespace lowbit::cli
