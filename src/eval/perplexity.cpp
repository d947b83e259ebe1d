// SPDX-License-Identifier: MIT
// Windowed perplexity and KL divergence.
#include "eval/perplexity.h"

#include <cmath>
#include <vector>

#include "util/check.h"
#include "util/timer.h"

namespace lowbit::eval {

Protocol parse_protocol(const std::string& name) {
  if (name == "gptq") return Protocol::gptq;
  if (name == "llamacpp") return Protocol::llamacpp;
  throw InvalidArgument(concat("--protocol must be gptq or llamacpp, got '", name, "'"));
}

std::string protocol_name(Protocol protocol) {
  return protocol == Protocol::gptq ? "gptq" : "llamacpp";
}

namespace {

// log-softmax of one row in double; throws when a logit is not finite.
void log_softmax(const float* logits, int64_t n, std::vector<double>& out) {
  out.resize(static_cast<size_t>(n));
  double max = -INFINITY;
  for (int64_t i = 0; i < n; ++i) {
    LB_CHECK(std::isfinite(logits[i]), "non-finite logit at vocabulary index ", i);
    max = std::max(max, static_cast<double>(logits[i]));
  }
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(logits[i]) - max);
  const double log_sum = max + std::log(sum);
  for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = logits[i] - log_sum;
}

// Running mean and the standard error of the mean (llama.cpp's formula).
struct Moments {
  double sum = 0, sum_sq = 0;
  int64_t count = 0;
  void add(double v) {
    sum += v;
    sum_sq += v * v;
    ++count;
  }
  double mean() const { return count ? sum / static_cast<double>(count) : 0.0; }
  double stderr_of_mean() const {
    if (count < 2) return 0.0;
    const double m = mean();
    const double var = sum_sq / static_cast<double>(count) - m * m;
    return var > 0 ? std::sqrt(var / static_cast<double>(count - 1)) : 0.0;
  }
};

}  // namespace

EvalResult evaluate(const model::LlamaModel& model, const model::LlamaModel* baseline,
                    std::span<const int32_t> tokens, int32_t bos_id, const EvalOptions& options,
                    kernels::ExecContext& ctx, const EvalProgress& progress) {
  const int64_t n_ctx = options.ctx;
  const int64_t vocab = model.config().vocab_size;
  LB_CHECK_ARG(n_ctx >= 2, "--ctx must be at least 2");
  if (baseline != nullptr)
    LB_CHECK_ARG(baseline->config().vocab_size == vocab, "baseline vocabulary differs");
  const auto n_tokens = static_cast<int64_t>(tokens.size());
  int64_t windows = n_tokens / n_ctx;
  LB_CHECK_ARG(windows > 0, "the text has ", n_tokens, " tokens, fewer than one window of --ctx ",
               n_ctx);
  if (options.max_windows > 0) windows = std::min(windows, options.max_windows);
  const bool llamacpp = options.protocol == Protocol::llamacpp;
  const int64_t first = llamacpp ? n_ctx / 2 : 0;

  EvalResult r;
  r.protocol = protocol_name(options.protocol);
  r.ctx = n_ctx;
  r.tokens = n_tokens;
  r.windows = windows;
  r.has_baseline = baseline != nullptr;

  model::KvCache cache = model.make_cache(n_ctx);
  std::vector<float> logits(static_cast<size_t>(n_ctx * vocab));
  std::vector<float> base_logits(baseline ? logits.size() : 0);
  std::vector<int32_t> window(static_cast<size_t>(n_ctx));
  std::vector<double> lp, lq;
  Moments nll, base_nll, kld;
  int64_t agree = 0;
  double kld_max = 0.0;
  Timer timer;
  double forward_seconds = 0.0;

  for (int64_t w = 0; w < windows; ++w) {
    std::copy(tokens.begin() + w * n_ctx, tokens.begin() + (w + 1) * n_ctx, window.begin());
    if (llamacpp && bos_id >= 0) window[0] = bos_id;
    timer.reset();
    model.forward(window, 0, cache, logits.data(), ctx);
    forward_seconds += timer.seconds();
    if (baseline != nullptr) baseline->forward(window, 0, cache, base_logits.data(), ctx);
    for (int64_t j = first; j < n_ctx - 1; ++j) {
      const int32_t target = window[static_cast<size_t>(j + 1)];
      log_softmax(&logits[static_cast<size_t>(j * vocab)], vocab, lq);
      nll.add(-lq[static_cast<size_t>(target)]);
      if (baseline == nullptr) continue;
      log_softmax(&base_logits[static_cast<size_t>(j * vocab)], vocab, lp);
      base_nll.add(-lp[static_cast<size_t>(target)]);
      double kl = 0.0;
      size_t best_p = 0, best_q = 0;
      for (size_t i = 0; i < static_cast<size_t>(vocab); ++i) {
        kl += std::exp(lp[i]) * (lp[i] - lq[i]);
        if (lp[i] > lp[best_p]) best_p = i;
        if (lq[i] > lq[best_q]) best_q = i;
      }
      kl = std::max(kl, 0.0);  // rounding can give -1e-17
      kld.add(kl);
      kld_max = std::max(kld_max, kl);
      agree += best_p == best_q ? 1 : 0;
    }
    if (progress) progress(w + 1, windows, std::exp(nll.mean()));
  }
  r.scored_tokens = nll.count;
  r.mean_nll = nll.mean();
  r.ppl = std::exp(r.mean_nll);
  r.ppl_stderr = r.ppl * nll.stderr_of_mean();
  r.seconds = forward_seconds;
  if (baseline != nullptr) {
    r.baseline_ppl = std::exp(base_nll.mean());
    r.baseline_ppl_stderr = r.baseline_ppl * base_nll.stderr_of_mean();
    r.kld = kld.mean();
    r.kld_stderr = kld.stderr_of_mean();
    r.kld_max = kld_max;
    r.top1_agreement = static_cast<double>(agree) / static_cast<double>(kld.count);
  }
  return r;
}

}  // namespace lowbit::eval
