// SPDX-License-Identifier: MIT
// Windowed perplexity and KL divergence. The per-position scoring of a window runs on the
// thread pool (one task per position range, results summed in position order afterwards), so
// figures are identical at any thread count.
#include "eval/perplexity.h"

#include <algorithm>
#include <cmath>
#include <optional>
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

WindowPlan plan_windows(int64_t n_tokens, const EvalOptions& options, int64_t max_positions) {
  WindowPlan plan;
  plan.ctx = options.ctx;
  LB_CHECK_ARG(plan.ctx >= 2, "--ctx must be at least 2, got ", plan.ctx);
  LB_CHECK_ARG(plan.ctx <= max_positions, "--ctx ", plan.ctx, " exceeds the model's context of ",
               max_positions, " positions");
  plan.first_scored = options.protocol == Protocol::llamacpp ? plan.ctx / 2 : 0;
  LB_CHECK_ARG(plan.scored_per_window() > 0, "--ctx ", plan.ctx, " with protocol ",
               protocol_name(options.protocol), " scores no token; use --ctx 4 or more");
  plan.windows = n_tokens / plan.ctx;
  LB_CHECK_ARG(plan.windows > 0, "the text has ", n_tokens,
               " tokens, fewer than one window of --ctx ", plan.ctx);
  LB_CHECK_ARG(options.max_windows >= 0, "--chunks must not be negative");
  if (options.max_windows > 0) plan.windows = std::min(plan.windows, options.max_windows);
  return plan;
}

size_t reference_bytes(const WindowPlan& plan, int64_t vocab) {
  return static_cast<size_t>(plan.windows * plan.scored_per_window()) * static_cast<size_t>(vocab) *
         sizeof(float);
}

namespace {

// The baseline is the reference: it runs with f32 activations whatever --matmul the evaluated
// model uses, so KL includes the cost of int8 activations.
class F32Matmul {
 public:
  explicit F32Matmul(kernels::ExecContext& ctx) : ctx_(ctx), saved_(ctx.int8_activations) {
    ctx_.int8_activations = false;
  }
  ~F32Matmul() { ctx_.int8_activations = saved_; }
  F32Matmul(const F32Matmul&) = delete;
  F32Matmul& operator=(const F32Matmul&) = delete;

 private:
  kernels::ExecContext& ctx_;
  bool saved_;
};

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

size_t argmax_of(const std::vector<double>& v) {
  return static_cast<size_t>(std::max_element(v.begin(), v.end()) - v.begin());
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

// The figures of one scored position.
struct PositionScore {
  double nll = 0, base_nll = 0, kl = 0;
  bool agree = false;
};

// Window w of the plan, with BOS at its start under the llamacpp protocol.
void fill_window(std::span<const int32_t> tokens, int64_t w, const WindowPlan& plan,
                 Protocol protocol, int32_t bos_id, std::vector<int32_t>& window) {
  window.assign(tokens.begin() + w * plan.ctx, tokens.begin() + (w + 1) * plan.ctx);
  if (protocol == Protocol::llamacpp && bos_id >= 0) window[0] = bos_id;
}

// Scores every window; the baseline is `base_model`, or `reference`, or neither.
EvalResult score(const model::LlamaModel& model, const model::LlamaModel* base_model,
                 const ReferenceLogProbs* reference, std::span<const int32_t> tokens,
                 int32_t bos_id, const EvalOptions& options, kernels::ExecContext& ctx,
                 const EvalProgress& progress) {
  const int64_t vocab = model.config().vocab_size;
  const auto n_tokens = static_cast<int64_t>(tokens.size());
  const WindowPlan plan = plan_windows(n_tokens, options, model.config().max_seq_len);
  if (base_model != nullptr)
    LB_CHECK_ARG(base_model->config().vocab_size == vocab, "the baseline's vocabulary has ",
                 base_model->config().vocab_size, " tokens, the model's ", vocab);
  if (reference != nullptr) {
    LB_CHECK_ARG(reference->vocab == vocab, "the reference's vocabulary has ", reference->vocab,
                 " tokens, the model's ", vocab);
    LB_CHECK_ARG(reference->plan.ctx == plan.ctx && reference->plan.windows == plan.windows &&
                     reference->plan.first_scored == plan.first_scored,
                 "the reference log-probabilities were computed on other windows");
  }
  const bool has_baseline = base_model != nullptr || reference != nullptr;
  const int64_t scored = plan.scored_per_window();

  EvalResult r;
  r.protocol = protocol_name(options.protocol);
  r.ctx = plan.ctx;
  r.tokens = n_tokens;
  r.windows = plan.windows;
  r.has_baseline = has_baseline;

  model::KvCache cache = model.make_cache(plan.ctx, options.kv);
  // The baseline has its own cache (it may be the same model with another KV format).
  std::optional<model::KvCache> base_cache;
  if (base_model != nullptr)
    base_cache.emplace(base_model->make_cache(plan.ctx, options.baseline_kv));
  std::vector<float> logits(static_cast<size_t>(plan.ctx * vocab));
  std::vector<float> base_logits(base_model ? logits.size() : 0);
  std::vector<int32_t> window;
  std::vector<PositionScore> scores(static_cast<size_t>(scored));
  Moments nll, base_nll, kld;
  int64_t agree = 0;
  double kld_max = 0.0;
  Timer timer;
  double forward_seconds = 0.0;

  for (int64_t w = 0; w < plan.windows; ++w) {
    fill_window(tokens, w, plan, options.protocol, bos_id, window);
    timer.reset();
    model.forward(window, 0, cache, logits.data(), ctx);
    forward_seconds += timer.seconds();
    if (base_model != nullptr) {
      const F32Matmul reference_path(ctx);
      base_model->forward(window, 0, *base_cache, base_logits.data(), ctx);
    }
    ctx.pool->parallel_for(0, scored, 1, [&](int64_t b, int64_t e) {
      std::vector<double> lp, lq;
      for (int64_t i = b; i < e; ++i) {
        const int64_t j = plan.first_scored + i;
        const auto target = static_cast<size_t>(window[static_cast<size_t>(j + 1)]);
        PositionScore& s = scores[static_cast<size_t>(i)];
        log_softmax(&logits[static_cast<size_t>(j * vocab)], vocab, lq);
        s.nll = -lq[target];
        if (!has_baseline) continue;
        size_t base_best = 0;
        if (base_model != nullptr) {
          log_softmax(&base_logits[static_cast<size_t>(j * vocab)], vocab, lp);
          base_best = argmax_of(lp);
        } else {
          const float* row = &reference->log_probs[static_cast<size_t>((w * scored + i) * vocab)];
          lp.assign(row, row + vocab);
          base_best = static_cast<size_t>(reference->argmax[static_cast<size_t>(w * scored + i)]);
        }
        s.base_nll = -lp[target];
        double kl = 0.0;
        for (size_t v = 0; v < static_cast<size_t>(vocab); ++v)
          kl += std::exp(lp[v]) * (lp[v] - lq[v]);
        s.kl = std::max(kl, 0.0);  // rounding can give -1e-17
        s.agree = base_best == argmax_of(lq);
      }
    });
    for (const PositionScore& s : scores) {
      nll.add(s.nll);
      if (!has_baseline) continue;
      base_nll.add(s.base_nll);
      kld.add(s.kl);
      kld_max = std::max(kld_max, s.kl);
      agree += s.agree ? 1 : 0;
    }
    if (progress) progress(w + 1, plan.windows, std::exp(nll.mean()));
  }
  r.scored_tokens = nll.count;
  r.mean_nll = nll.mean();
  r.ppl = std::exp(r.mean_nll);
  r.ppl_stderr = r.ppl * nll.stderr_of_mean();
  r.seconds = forward_seconds;
  if (has_baseline) {
    r.baseline_ppl = std::exp(base_nll.mean());
    r.baseline_ppl_stderr = r.baseline_ppl * base_nll.stderr_of_mean();
    r.kld = kld.mean();
    r.kld_stderr = kld.stderr_of_mean();
    r.kld_max = kld_max;
    r.top1_agreement = static_cast<double>(agree) / static_cast<double>(kld.count);
  }
  return r;
}

}  // namespace

ReferenceLogProbs compute_reference(const model::LlamaModel& baseline,
                                    std::span<const int32_t> tokens, int32_t bos_id,
                                    const EvalOptions& options, kernels::ExecContext& ctx,
                                    const EvalProgress& progress) {
  ReferenceLogProbs ref;
  ref.vocab = baseline.config().vocab_size;
  ref.plan =
      plan_windows(static_cast<int64_t>(tokens.size()), options, baseline.config().max_seq_len);
  const WindowPlan& plan = ref.plan;
  const int64_t scored = plan.scored_per_window();
  const int64_t vocab = ref.vocab;
  ref.log_probs.resize(reference_bytes(plan, vocab) / sizeof(float));
  ref.argmax.resize(static_cast<size_t>(plan.windows * scored));

  model::KvCache cache = baseline.make_cache(plan.ctx, options.baseline_kv);
  std::vector<float> logits(static_cast<size_t>(plan.ctx * vocab));
  std::vector<int32_t> window;
  std::vector<double> nll_of(static_cast<size_t>(scored));
  Moments nll;
  Timer timer;
  for (int64_t w = 0; w < plan.windows; ++w) {
    fill_window(tokens, w, plan, options.protocol, bos_id, window);
    timer.reset();
    {
      const F32Matmul reference_path(ctx);
      baseline.forward(window, 0, cache, logits.data(), ctx);
    }
    ref.seconds += timer.seconds();
    ctx.pool->parallel_for(0, scored, 1, [&](int64_t b, int64_t e) {
      std::vector<double> lp;
      for (int64_t i = b; i < e; ++i) {
        const int64_t j = plan.first_scored + i;
        log_softmax(&logits[static_cast<size_t>(j * vocab)], vocab, lp);
        const auto row = static_cast<size_t>(w * scored + i);
        std::transform(
            lp.begin(), lp.end(),
            ref.log_probs.begin() + static_cast<ptrdiff_t>(row * static_cast<size_t>(vocab)),
            [](double v) { return static_cast<float>(v); });
        ref.argmax[row] = static_cast<int32_t>(argmax_of(lp));
        nll_of[static_cast<size_t>(i)] =
            -lp[static_cast<size_t>(window[static_cast<size_t>(j + 1)])];
      }
    });
    for (double v : nll_of) nll.add(v);
    if (progress) progress(w + 1, plan.windows, std::exp(nll.mean()));
  }
  ref.mean_nll = nll.mean();
  ref.ppl = std::exp(ref.mean_nll);
  ref.ppl_stderr = ref.ppl * nll.stderr_of_mean();
  return ref;
}

EvalResult evaluate(const model::LlamaModel& model, const model::LlamaModel* baseline,
                    std::span<const int32_t> tokens, int32_t bos_id, const EvalOptions& options,
                    kernels::ExecContext& ctx, const EvalProgress& progress) {
  return score(model, baseline, nullptr, tokens, bos_id, options, ctx, progress);
}

EvalResult evaluate(const model::LlamaModel& model, const ReferenceLogProbs& reference,
                    std::span<const int32_t> tokens, int32_t bos_id, const EvalOptions& options,
                    kernels::ExecContext& ctx, const EvalProgress& progress) {
  return score(model, nullptr, &reference, tokens, bos_id, options, ctx, progress);
}

}  // namespace lowbit::eval
