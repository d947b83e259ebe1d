// SPDX-License-Identifier: MIT
// Perplexity (and, against a baseline, KL divergence and top-1 agreement) over a token stream,
// under a named protocol so numbers can be compared with the tools users know:
//  gptq     : non-overlapping windows of ctx tokens (tail dropped), every predicted token of
//             each window scored (ctx - 1 per window); the GPTQ/AWQ paper protocol.
//  llamacpp : as llama.cpp's perplexity tool: the first token of each window replaced by BOS
//             (when the vocabulary adds one), only the second half scored (positions
//             ctx/2 .. ctx-2 predict the next token: ctx - 1 - ctx/2 per window).
// The baseline is either a second model run on the same windows, or its log-probabilities
// computed once (ReferenceLogProbs) and reused for many models, as `lowbit sweep` does.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "kernels/exec_context.h"
#include "kernels/kv_format.h"
#include "model/llama_model.h"

namespace lowbit::eval {

enum class Protocol { gptq, llamacpp };

Protocol parse_protocol(const std::string& name);  // throws InvalidArgument
std::string protocol_name(Protocol protocol);

struct EvalOptions {
  int64_t ctx = 512;
  Protocol protocol = Protocol::gptq;
  int64_t max_windows = 0;  // --chunks: score only the first N windows; 0 = every full window
  // KV-cache formats of the evaluated model and of the baseline (a live baseline model, or
  // the one compute_reference runs). The same model with two formats measures the cache alone.
  kernels::KvFormat kv = {}, baseline_kv = {};
};

// The windows `options` scores over `n_tokens` tokens. Throws InvalidArgument naming --ctx or
// the text when no token would be scored (a text shorter than one window, or a window too
// short for the protocol) or when ctx exceeds `max_positions` (the model's context).
struct WindowPlan {
  int64_t ctx = 0;
  int64_t windows = 0;
  int64_t first_scored = 0;  // position whose prediction is scored first in each window
  int64_t scored_per_window() const { return ctx - 1 - first_scored; }
};
WindowPlan plan_windows(int64_t n_tokens, const EvalOptions& options, int64_t max_positions);

struct EvalResult {
  std::string protocol;
  int64_t ctx = 0;
  int64_t tokens = 0;  // tokens in the text (BOS included)
  int64_t windows = 0;
  int64_t scored_tokens = 0;
  double mean_nll = 0, ppl = 0, ppl_stderr = 0;
  // Filled when a baseline was given.
  bool has_baseline = false;
  double baseline_ppl = 0, baseline_ppl_stderr = 0;
  double kld = 0, kld_stderr = 0, kld_max = 0;  // KL(baseline || model), nats per token
  double top1_agreement = 0;                    // fraction of positions with the same argmax
  double seconds = 0;                           // wall time of the model's forward passes
};

// Called after each window with (windows done, windows total, running ppl).
using EvalProgress = std::function<void(int64_t, int64_t, double)>;

// The baseline's log-probabilities at every scored position of a plan, row-major
// [windows * scored_per_window, vocab] in f32, with its own perplexity figures.
struct ReferenceLogProbs {
  WindowPlan plan;
  int64_t vocab = 0;
  std::vector<float> log_probs;
  std::vector<int32_t> argmax;  // per scored position
  double mean_nll = 0, ppl = 0, ppl_stderr = 0;
  double seconds = 0;
};

// Bytes a ReferenceLogProbs for this plan and vocabulary holds.
size_t reference_bytes(const WindowPlan& plan, int64_t vocab);

// Runs `baseline` once over the plan's windows and keeps its log-probabilities.
ReferenceLogProbs compute_reference(const model::LlamaModel& baseline,
                                    std::span<const int32_t> tokens, int32_t bos_id,
                                    const EvalOptions& options, kernels::ExecContext& ctx,
                                    const EvalProgress& progress = {});

// Scores `tokens` with `model` (and `baseline` when not null, on the same windows). Throws on
// non-finite logits, mismatched vocabularies, or a plan that scores nothing.
EvalResult evaluate(const model::LlamaModel& model, const model::LlamaModel* baseline,
                    std::span<const int32_t> tokens, int32_t bos_id, const EvalOptions& options,
                    kernels::ExecContext& ctx, const EvalProgress& progress = {});

// Scores `tokens` with `model` against precomputed baseline log-probabilities; `options` must
// give the same plan the reference was computed with.
EvalResult evaluate(const model::LlamaModel& model, const ReferenceLogProbs& reference,
                    std::span<const int32_t> tokens, int32_t bos_id, const EvalOptions& options,
                    kernels::ExecContext& ctx, const EvalProgress& progress = {});

}  // namespace lowbit::eval
