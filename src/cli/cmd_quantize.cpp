// SPDX-License-Identifier: MIT
// `lowbit quantize`: applies a scheme and writes a lowbit checkpoint directory (atomically).
#include <cstdio>

#include "cli/common.h"
#include "cli/subcommands.h"
#include "io/checkpoint.h"
#include "ptq/quantize_model.h"
#include "util/check.h"
#include "util/log.h"
#include "util/timer.h"

namespace lowbit::cli {
namespace {

struct QuantizeArgs {
  ModelOptions model;
  SchemeOptions scheme;
  std::string out;
  bool force = false;
  bool json = false;
};

int run_quantize(const QuantizeArgs& a) {
  const auto scheme = resolve_scheme(a.scheme);
  LB_CHECK_ARG(scheme.has_value(), "give --scheme NAME (see `lowbit schemes`) or --bits N");
  check_output_directory(a.out, a.force, io::is_lowbit_checkpoint, "a lowbit checkpoint");
  ModelSource source = open_model(a.model);
  const std::string baseline = check_requantize(source, a.scheme);
  kernels::ExecContext ctx = make_context(a.model);
  Timer timer;
  auto progress = [](const ptq::QuantizeProgress& p) {
    log_info("[", p.done, "/", p.total, "] ", p.tensor, ": ", human_bytes(p.bytes_before), " -> ",
             human_bytes(p.bytes_after));
  };
  ptq::QuantizedModel q = ptq::quantize_model(source, *scheme, ctx, progress);
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
  size_t bytes = 0;
  for (const auto& name : q.tensors.names()) bytes += q.tensors.at(name).storage_bytes();
  const double seconds = timer.seconds();
  if (a.json) {
    print_json({{"out", a.out},
                {"scheme", scheme->name},
                {"quantized_from", baseline},
                {"bytes", bytes},
                {"linear_bits_per_weight", q.linear_bits_per_weight},
                {"seconds", seconds}});
  } else {
    std::printf("wrote %s: scheme %s from %s, %s, linear layers %.4f bits per weight (%.1f s)\n",
                a.out.c_str(), scheme->name.c_str(), baseline.c_str(),
                human_bytes(static_cast<double>(bytes)).c_str(), q.linear_bits_per_weight, seconds);
  }
  return 0;
}

}  // namespace

void add_quantize_command(CLI::App& app, std::function<int()>& action) {
  auto* cmd = app.add_subcommand("quantize", "Quantize a model and write a lowbit checkpoint");
  auto a = std::make_shared<QuantizeArgs>();
  add_model_options(cmd, a->model);
  add_scheme_options(cmd, a->scheme);
  cmd->add_option("-o,--out", a->out, "Output checkpoint directory (new or empty; see --force)")
      ->required();
  cmd->add_flag("--force", a->force, "Replace an existing lowbit checkpoint at --out");
  cmd->add_flag("--json", a->json, "Print one JSON object");
  cmd->callback([&action, a] { action = [a] { return run_quantize(*a); }; });
}

}  // namespace lowbit::cli
