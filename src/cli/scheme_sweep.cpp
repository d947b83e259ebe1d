// SPDX-License-Identifier: MIT
#include "cli/scheme_sweep.h"

#include "cli/common.h"
#include "model/llama_config.h"
#include "model/llama_weights.h"
#include "ptq/model_loader.h"
#include "ptq/quantize_model.h"
#include "util/log.h"
#include "util/timer.h"

namespace lowbit::cli {

std::vector<SweepRow> run_sweep(
    const SweepSetup& setup, const std::vector<std::string>& schemes, kernels::ExecContext& ctx,
    const std::function<void(SweepRow&, const model::LlamaModel&)>& on_row) {
  const ModelSource& source = *setup.source;
  const model::LlamaConfig config = model::LlamaConfig::from_json(source.config);
  // Every name is checked before the long work starts.
  std::vector<quant::Scheme> resolved;
  for (const std::string& name : schemes) resolved.push_back(quant::find_scheme(name));

  const eval::WindowPlan plan = eval::plan_windows(static_cast<int64_t>(setup.tokens.size()),
                                                   setup.options, config.max_seq_len);
  const size_t ref_bytes = eval::reference_bytes(plan, config.vocab_size);
  std::optional<eval::ReferenceLogProbs> reference;
  auto progress = [](const char* what) {
    return [what](int64_t done, int64_t total, double ppl) {
      if (done == total || done % 8 == 0)
        log_info("sweep: ", what, " [", done, "/", total, "] ppl ", ppl);
    };
  };
  std::vector<SweepRow> rows;
  SweepRow base;
  base.scheme = "base";
  const model::TensorSizes base_sizes = model::tensor_sizes(config, source.tensors);
  base.bits_per_weight = base_sizes.bits_per_weight;
  base.file_bits_per_weight = base_sizes.file_bits_per_weight;
  base.bytes = base_sizes.bytes;
  if (ref_bytes <= setup.reference_budget) {
    log_info("sweep: base model over ", plan.windows, " windows (keeping ",
             human_bytes(static_cast<double>(ref_bytes)), " of log-probabilities)");
    reference = eval::compute_reference(*setup.base, setup.tokens, setup.bos_id, setup.options, ctx,
                                        progress("base"));
    // The base scored against itself: its own figures, KL 0 and full agreement.
    eval::EvalResult& r = base.eval;
    r.protocol = eval::protocol_name(setup.options.protocol);
    r.ctx = plan.ctx;
    r.tokens = static_cast<int64_t>(setup.tokens.size());
    r.windows = plan.windows;
    r.scored_tokens = plan.windows * plan.scored_per_window();
    r.mean_nll = reference->mean_nll;
    r.ppl = r.baseline_ppl = reference->ppl;
    r.ppl_stderr = r.baseline_ppl_stderr = reference->ppl_stderr;
    r.has_baseline = true;
    r.top1_agreement = 1.0;
    r.seconds = reference->seconds;
  } else {
    log_info("sweep: base log-probabilities would take ",
             human_bytes(static_cast<double>(ref_bytes)), ", over the ",
             human_bytes(static_cast<double>(setup.reference_budget)),
             " budget: the base model runs again beside each scheme");
    base.eval = eval::evaluate(*setup.base, nullptr, setup.tokens, setup.bos_id, setup.options, ctx,
                               progress("base"));
  }
  base.eval.has_baseline = true;
  base.eval.baseline_ppl = base.eval.ppl;
  base.eval.baseline_ppl_stderr = base.eval.ppl_stderr;
  base.eval.top1_agreement = 1.0;
  if (on_row) on_row(base, *setup.base);
  rows.push_back(base);

  for (const quant::Scheme& scheme : resolved) {
    ptq::QuantizeOptions q_options{scheme, setup.head, setup.embed, setup.rules};
    SweepRow row;
    row.scheme = q_options.name();
    Timer timer;
    ptq::QuantizedModel q =
        setup.quantize ? setup.quantize(q_options) : ptq::quantize_model(source, q_options, ctx);
    row.quantize_seconds = timer.seconds();
    row.scheme = q.quantization.value("scheme", row.scheme);  // with --mix, the planned mix
    row.bits_per_weight = q.linear_bits_per_weight;           // measured by quantize_model
    row.file_bits_per_weight = q.file_bits_per_weight;
    row.bytes = q.bytes;
    auto m = ptq::build_model(source.config, q.tensors);
    const std::string label = row.scheme;
    row.eval = reference ? eval::evaluate(*m, *reference, setup.tokens, setup.bos_id, setup.options,
                                          ctx, progress(label.c_str()))
                         : eval::evaluate(*m, setup.base, setup.tokens, setup.bos_id, setup.options,
                                          ctx, progress(label.c_str()));
    if (on_row) on_row(row, *m);
    log_info("sweep: ", row.scheme, ": ", row.bits_per_weight, " bits/w, ppl ", row.eval.ppl,
             ", KL ", row.eval.kld);
    rows.push_back(std::move(row));
  }
  return rows;
}

nlohmann::json sweep_row_json(const SweepRow& row) {
  const eval::EvalResult& r = row.eval;
  return {{"scheme", row.scheme},
          {"bits_per_weight", row.bits_per_weight},
          {"file_bits_per_weight", row.file_bits_per_weight},
          {"bytes", row.bytes},
          {"ppl", r.ppl},
          {"ppl_stderr", r.ppl_stderr},
          {"kld", r.kld},
          {"kld_stderr", r.kld_stderr},
          {"kld_max", r.kld_max},
          {"top1_agreement", r.top1_agreement},
          {"quantize_seconds", row.quantize_seconds},
          {"eval_seconds", r.seconds},
          {"prefill_tokens_per_second",
           r.seconds > 0 ? static_cast<double>(r.windows * r.ctx) / r.seconds : 0.0}};
}

}  // namespace lowbit::cli
