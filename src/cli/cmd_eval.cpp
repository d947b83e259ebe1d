// SPDX-License-Identifier: MIT
// `lowbit eval`: perplexity of a model on a text file; with --scheme (or --head/--embed) also
// the unquantized model on the same windows, KL divergence and top-1 agreement; with
// --baseline the same figures against another model file. With --kv-cache-dtype other than
// --baseline-kv-cache-dtype (f32) and no other baseline, the baseline is the same weights with
// that KV cache, so KL and top-1 measure the cache alone.
#include <algorithm>
#include <cstdio>

#include "cli/calibration_flags.h"
#include "cli/common.h"
#include "cli/kv_cache_flags.h"
#include "cli/subcommands.h"
#include "eval/perplexity.h"
#include "eval/text_file.h"
#include "model/llama_config.h"
#include "model/llama_weights.h"
#include "ptq/calibrated_quantize.h"
#include "ptq/model_loader.h"
#include "ptq/quantize_model.h"
#include "util/check.h"
#include "util/log.h"

namespace lowbit::cli {
namespace {

// LLM.int8(): the share of linear input columns that went through f32.
double routed_fraction(const kernels::KernelStats& s) {
  return s.outlier_split_columns > 0 ? static_cast<double>(s.outlier_split_routed) /
                                           static_cast<double>(s.outlier_split_columns)
                                     : 0.0;
}

struct EvalArgs {
  ModelOptions model;
  SchemeOptions scheme;
  TargetOptions targets;
  CalibrationFlags calibration;
  KvCacheFlags kv;
  std::string baseline_kv_dtype = "f32";
  std::string baseline;
  std::string text;
  int64_t ctx = 0;  // 0: min(512, the model's context)
  std::string protocol = "gptq";
  int64_t chunks = 0;
  bool json = false;
};

nlohmann::json result_json(const eval::EvalResult& r, const model::TensorSizes& sizes) {
  nlohmann::json j = {{"protocol", r.protocol},
                      {"ctx", r.ctx},
                      {"tokens", r.tokens},
                      {"windows", r.windows},
                      {"scored_tokens", r.scored_tokens},
                      {"mean_nll", r.mean_nll},
                      {"ppl", r.ppl},
                      {"ppl_stderr", r.ppl_stderr},
                      {"bits_per_weight", sizes.bits_per_weight},
                      {"file_bits_per_weight", sizes.file_bits_per_weight},
                      {"bytes", sizes.bytes},
                      {"seconds", r.seconds},
                      {"tokens_per_second",
                       r.seconds > 0 ? static_cast<double>(r.windows * r.ctx) / r.seconds : 0.0}};
  if (r.has_baseline) {
    j["baseline_ppl"] = r.baseline_ppl;
    j["baseline_ppl_stderr"] = r.baseline_ppl_stderr;
    j["ppl_delta"] = r.ppl - r.baseline_ppl;
    j["kld"] = r.kld;
    j["kld_stderr"] = r.kld_stderr;
    j["kld_max"] = r.kld_max;
    j["top1_agreement"] = r.top1_agreement;
  }
  return j;
}

// The --baseline model, checked to share the evaluated model's vocabulary: same size, and its
// own tokenizer (when it has one) gives the same ids for the text.
std::unique_ptr<model::LlamaModel> open_baseline(const EvalArgs& a, const std::string& text,
                                                 const std::vector<int32_t>& tokens,
                                                 int64_t vocab) {
  ModelOptions o = a.model;
  o.model = a.baseline;
  o.tokenizer.clear();
  ModelSource source = open_model(o);
  const model::LlamaConfig config = model::LlamaConfig::from_json(source.config);
  LB_CHECK_ARG(config.vocab_size == vocab, "--baseline ", a.baseline, ": vocabulary of ",
               config.vocab_size, " tokens, but --model has ", vocab);
  if (source.tokenizer) {
    const std::vector<int32_t> theirs = source.tokenizer->encode(text, /*add_bos=*/true);
    LB_CHECK_ARG(theirs == tokens, "--baseline ", a.baseline,
                 ": its tokenizer splits the text differently from --model's (different "
                 "vocabularies)");
  }
  return ptq::build_model(source.config, source.tensors);
}

int run_eval(const EvalArgs& a) {
  const ptq::QuantizeOptions quantize = resolve_quantize(a.scheme, a.targets);
  ModelSource source = open_model(a.model);
  if (!quantize.empty()) decode_ggml_only_formats(source);
  // What KL is measured against: the stored weights (named, so a re-quantized checkpoint's
  // baseline is not mistaken for the original model).
  const std::string quantized_from =
      quantize.empty() ? std::string() : check_requantize(source, a.scheme);
  const Tokenizer& tokenizer = require_tokenizer(source);
  const model::LlamaConfig config = model::LlamaConfig::from_json(source.config);
  const std::string text = eval::read_text_file(a.text, "--text");
  const eval::EvalOptions options{a.ctx > 0 ? a.ctx : std::min<int64_t>(512, config.max_seq_len),
                                  eval::parse_protocol(a.protocol), a.chunks};
  const std::vector<int32_t> tokens = tokenizer.encode(text, /*add_bos=*/true);
  // Fails before any model work when the windows would score nothing.
  const eval::WindowPlan plan =
      eval::plan_windows(static_cast<int64_t>(tokens.size()), options, config.max_seq_len);
  kernels::ExecContext ctx = make_context(a.model);

  kernels::KvFormat kv = kv_format_of(a.kv);
  const kernels::KvFormat baseline_kv = kv_format_of({a.baseline_kv_dtype, a.kv.residual, 0});
  // --calib also calibrates an fp8 KV cache; the weights see it only when their scheme uses it.
  const bool calibrated_kv = kv.dtype == kernels::KvDtype::fp8 && !a.calibration.calib.empty();
  CalibrationFlags weight_calibration = a.calibration;
  if (calibrated_kv && !ptq::needs_calibration(quantize) && a.calibration.mix.empty())
    weight_calibration.calib.clear();

  auto model = ptq::build_model(source.config, source.tensors);
  model::TensorSizes sizes = model::tensor_sizes(config, source.tensors);
  std::unique_ptr<model::LlamaModel> quantized;
  // What the linears got (with --mix, the planned mix).
  std::string scheme_name = quantize.empty() ? std::string() : quantize.name();
  if (!quantize.empty()) {
    const ptq::QuantizedModel q =
        quantize_with_flags(source, quantize, weight_calibration, ctx).model;
    scheme_name = q.quantization.value("scheme", scheme_name);
    log_info("eval: quantized with ", scheme_name);
    // quantize_model measured the result already.
    sizes = {q.linear_bits_per_weight, q.file_bits_per_weight, q.bytes};
    quantized = ptq::build_model(source.config, q.tensors);
  }
  std::unique_ptr<model::LlamaModel> other;
  if (!a.baseline.empty()) other = open_baseline(a, text, tokens, config.vocab_size);
  // Logged only once every input has been validated: an error is then the only output.
  log_info("eval: ", a.text, ": ", tokens.size(), " tokens, protocol ", a.protocol, ", ctx ",
           plan.ctx, ", ", plan.windows, " windows");
  const model::LlamaModel& evaluated = quantized ? *quantized : *model;
  if (calibrated_kv) kv = calibrated_fp8_kv(a.calibration, evaluated, tokenizer, ctx);
  // Without another baseline, a KV format other than the baseline's is compared with the
  // same weights and the baseline's cache.
  const bool kv_baseline = !other && !quantized && kv.dtype != baseline_kv.dtype;
  const model::LlamaModel* baseline = other         ? other.get()
                                      : quantized   ? model.get()
                                      : kv_baseline ? &evaluated
                                                    : nullptr;

  auto progress = [](int64_t done, int64_t total, double ppl) {
    if (done == total || done % 16 == 0) log_info("eval: [", done, "/", total, "] ppl ", ppl);
  };
  eval::EvalOptions run_options = options;
  run_options.kv = kv;
  run_options.baseline_kv = baseline_kv;
  ctx.stats = {};  // counted over the evaluation only
  const eval::EvalResult r =
      eval::evaluate(evaluated, baseline, tokens, tokenizer.bos_id(), run_options, ctx, progress);
  const nlohmann::json kv_json =
      kv_memory_json(config, kv, plan.ctx, static_cast<double>(sizes.bytes), a.kv.memory_gib);
  if (scheme_name.empty() && source.quantization.is_object())
    scheme_name = source.quantization.value("scheme", std::string());
  const std::string baseline_name =
      other         ? a.baseline
      : quantized   ? quantized_from
      : kv_baseline ? concat(a.model.model, " (KV cache ", a.baseline_kv_dtype, ")")
                    : std::string();
  if (a.json) {
    nlohmann::json j = result_json(r, sizes);
    j["model"] = a.model.model;
    j["text"] = a.text;
    j["chunks"] = a.chunks;
    j["matmul"] = a.model.matmul;
    if (!scheme_name.empty()) j["scheme"] = scheme_name;
    if (!baseline_name.empty()) j["baseline"] = baseline_name;
    j["kv_cache"] = kv_json;
    if (r.has_baseline) j["baseline_kv_cache_dtype"] = a.baseline_kv_dtype;
    if (kv.dtype == kernels::KvDtype::fp8)
      j["kv_cache"]["fp8_scales"] = kv.key_scales.empty() ? "dynamic" : "calibrated";
    if (ctx.stats.outlier_split_calls > 0)
      j["llm_int8"] = {{"linear_calls", ctx.stats.outlier_split_calls},
                       {"input_columns", ctx.stats.outlier_split_columns},
                       {"columns_routed_to_f32", ctx.stats.outlier_split_routed},
                       {"routed_fraction", routed_fraction(ctx.stats)}};
    print_json(j);
    return 0;
  }
  std::printf("protocol %s, ctx %lld: %lld tokens, %lld windows, %lld scored tokens\n",
              r.protocol.c_str(), static_cast<long long>(r.ctx), static_cast<long long>(r.tokens),
              static_cast<long long>(r.windows), static_cast<long long>(r.scored_tokens));
  std::printf(
      "PPL = %.4f +/- %.4f   (%s%s%.4f bits per weight over the linear layers, %.4f over "
      "all tensors)\n",
      r.ppl, r.ppl_stderr, scheme_name.c_str(), scheme_name.empty() ? "" : ": ",
      sizes.bits_per_weight, sizes.file_bits_per_weight);
  if (r.has_baseline) {
    std::printf("baseline %s: PPL = %.4f +/- %.4f (difference %+.4f)\n", baseline_name.c_str(),
                r.baseline_ppl, r.baseline_ppl_stderr, r.ppl - r.baseline_ppl);
    std::printf("KLD = %.6f +/- %.6f (max %.4f), top-1 agreement %.2f%%\n", r.kld, r.kld_stderr,
                r.kld_max, 100.0 * r.top1_agreement);
  }
  if (ctx.stats.outlier_split_calls > 0)
    std::printf("llm-int8: %.3f%% of input columns went through f32 (%lld of %lld, %lld calls)\n",
                100.0 * routed_fraction(ctx.stats),
                static_cast<long long>(ctx.stats.outlier_split_routed),
                static_cast<long long>(ctx.stats.outlier_split_columns),
                static_cast<long long>(ctx.stats.outlier_split_calls));
  std::printf("%s\n", kv_memory_line(kv_json).c_str());
  std::printf("speed: %.1f tokens/s over the model's forward passes (%d threads, --matmul %s)\n",
              r.seconds > 0 ? static_cast<double>(r.windows * r.ctx) / r.seconds : 0.0,
              ctx.threads(), a.model.matmul.c_str());
  return 0;
}

}  // namespace

void add_eval_command(CLI::App& app, std::function<int()>& action) {
  auto* cmd = app.add_subcommand("eval", "Perplexity (and KL divergence vs unquantized) on a text");
  auto a = std::make_shared<EvalArgs>();
  add_model_options(cmd, a->model);
  add_matmul_option(cmd, a->model.matmul);
  add_scheme_options(cmd, a->scheme);
  add_target_options(cmd, a->targets);
  add_calibration_flags(cmd, a->calibration);
  cmd->add_option("--text", a->text, "UTF-8 text file to score")->required();
  cmd->add_option("--ctx", a->ctx, "Window length in tokens (default: min(512, model context))")
      ->check(integer_range(2, int64_t{1} << 24));
  cmd->add_option("--protocol", a->protocol,
                  "gptq (score every token) or llamacpp (BOS per window, second half scored)")
      ->check(CLI::IsMember({"gptq", "llamacpp"}))
      ->capture_default_str();
  cmd->add_option("--chunks,--max-windows", a->chunks,
                  "Score only the first N windows (0 = all), as llama.cpp's --chunks")
      ->check(integer_range(0, INT32_MAX))
      ->capture_default_str();
  add_kv_cache_flags(cmd, a->kv, /*memory=*/true);
  cmd->add_option("--baseline-kv-cache-dtype", a->baseline_kv_dtype,
                  "KV cache format of the baseline (the same weights when no other baseline)")
      ->capture_default_str();
  cmd->add_option("--baseline", a->baseline,
                  "Compare against this model (KL, top-1, ppl difference) on the same windows")
      ->check(readable_path(true));
  cmd->add_flag("--json", a->json, "Print one JSON object");
  cmd->callback([&action, a] { action = [a] { return run_eval(*a); }; });
}

}  // namespace lowbit::cli
