// SPDX-License-Identifier: MIT
// `lowbit eval`: perplexity of a model on a text file; with --scheme also the unquantized
// model on the same windows, KL divergence and top-1 agreement.
#include <cstdio>
#include <iostream>

#include "cli/common.h"
#include "cli/subcommands.h"
#include "eval/perplexity.h"
#include "ptq/model_loader.h"
#include "ptq/quantize_model.h"
#include "util/atomic_file.h"
#include "util/log.h"

namespace lowbit::cli {
namespace {

struct EvalArgs {
  ModelOptions model;
  SchemeOptions scheme;
  std::string text;
  int64_t ctx = 512;
  std::string protocol = "gptq";
  int64_t max_windows = 0;
  bool json = false;
};

nlohmann::json result_json(const eval::EvalResult& r, double bpw, const std::string& scheme) {
  nlohmann::json j = {{"protocol", r.protocol},
                      {"ctx", r.ctx},
                      {"tokens", r.tokens},
                      {"windows", r.windows},
                      {"scored_tokens", r.scored_tokens},
                      {"mean_nll", r.mean_nll},
                      {"ppl", r.ppl},
                      {"ppl_stderr", r.ppl_stderr},
                      {"bits_per_weight", bpw},
                      {"seconds", r.seconds},
                      {"tokens_per_second",
                       r.seconds > 0 ? static_cast<double>(r.windows * r.ctx) / r.seconds : 0.0}};
  if (!scheme.empty()) j["scheme"] = scheme;
  if (r.has_baseline) {
    j["baseline_ppl"] = r.baseline_ppl;
    j["baseline_ppl_stderr"] = r.baseline_ppl_stderr;
    j["kld"] = r.kld;
    j["kld_stderr"] = r.kld_stderr;
    j["kld_max"] = r.kld_max;
    j["top1_agreement"] = r.top1_agreement;
  }
  return j;
}

int run_eval(const EvalArgs& a) {
  const auto scheme = resolve_scheme(a.scheme);
  const eval::EvalOptions options{a.ctx, eval::parse_protocol(a.protocol), a.max_windows};
  ModelSource source = open_model(a.model);
  // What KL is measured against: the stored weights (named, so a re-quantized checkpoint's
  // baseline is not mistaken for the original model).
  const std::string baseline_name = scheme ? check_requantize(source, a.scheme) : std::string();
  const Tokenizer& tokenizer = require_tokenizer(source);
  auto baseline = ptq::build_model(source.config, source.tensors);
  const std::string text = read_file(a.text);
  const std::vector<int32_t> tokens = tokenizer.encode(text, /*add_bos=*/true);
  log_info("eval: ", a.text, ": ", tokens.size(), " tokens, protocol ", a.protocol, ", ctx ",
           a.ctx);
  kernels::ExecContext ctx = make_context(a.model);
  std::unique_ptr<model::LlamaModel> quantized;
  if (scheme) {
    log_info("eval: quantizing with ", scheme->name);
    ptq::QuantizedModel q = ptq::quantize_model(source, *scheme, ctx);
    quantized = ptq::build_model(source.config, q.tensors);
  }
  const model::LlamaModel& evaluated = quantized ? *quantized : *baseline;
  auto progress = [](int64_t done, int64_t total, double ppl) {
    if (done == total || done % 16 == 0) log_info("eval: [", done, "/", total, "] ppl ", ppl);
  };
  const eval::EvalResult r = eval::evaluate(evaluated, quantized ? baseline.get() : nullptr, tokens,
                                            tokenizer.bos_id(), options, ctx, progress);
  const double bpw = evaluated.weights().linear_bits_per_weight();
  const std::string scheme_name = scheme ? scheme->name
                                  : source.quantization.is_object()
                                      ? source.quantization.value("scheme", std::string())
                                      : std::string();
  if (a.json) {
    nlohmann::json j = result_json(r, bpw, scheme_name);
    if (r.has_baseline) j["baseline"] = baseline_name;
    print_json(j);
    return 0;
  }
  std::printf("protocol %s, ctx %lld: %lld tokens, %lld windows, %lld scored tokens\n",
              r.protocol.c_str(), static_cast<long long>(r.ctx), static_cast<long long>(r.tokens),
              static_cast<long long>(r.windows), static_cast<long long>(r.scored_tokens));
  std::printf("PPL = %.4f +/- %.4f   (linear layers: %.4f bits per weight)\n", r.ppl, r.ppl_stderr,
              bpw);
  if (r.has_baseline) {
    std::printf("baseline (%s) PPL = %.4f +/- %.4f\n", baseline_name.c_str(), r.baseline_ppl,
                r.baseline_ppl_stderr);
    std::printf("KLD = %.6f +/- %.6f (max %.4f), top-1 agreement %.2f%%\n", r.kld, r.kld_stderr,
                r.kld_max, 100.0 * r.top1_agreement);
  }
  return 0;
}

}  // namespace

void add_eval_command(CLI::App& app, std::function<int()>& action) {
  auto* cmd = app.add_subcommand("eval", "Perplexity (and KL divergence vs unquantized) on a text");
  auto a = std::make_shared<EvalArgs>();
  add_model_options(cmd, a->model);
  add_scheme_options(cmd, a->scheme);
  cmd->add_option("--text", a->text, "UTF-8 text file to score")
      ->required()
      ->check(readable_path(false));
  cmd->add_option("--ctx", a->ctx, "Window length in tokens")->check(integer_range(2, 1 << 20));
  cmd->add_option("--protocol", a->protocol,
                  "gptq (score every token) or llamacpp (BOS per "
                  "window, second half scored)")
      ->check(CLI::IsMember({"gptq", "llamacpp"}));
  cmd->add_option("--max-windows", a->max_windows, "Score at most this many windows (0 = all)")
      ->check(integer_range(0, INT32_MAX));
  cmd->add_flag("--json", a->json, "Print one JSON object");
  cmd->callback([&action, a] { action = [a] { return run_eval(*a); }; });
}

}  // namespace lowbit::cli
