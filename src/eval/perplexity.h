// SPDX-License-Identifier: MIT
// Perplexity (and, against a baseline model, KL divergence and top-1 agreement) over a token
// stream, under a named protocol so numbers can be compared with the tools users know:
//  gptq     : non-overlapping windows of ctx tokens (tail dropped), every predicted token of
//             each window scored (ctx - 1 per window); the GPTQ/AWQ paper protocol.
//  llamacpp : as llama.cpp's perplexity tool: the first token of each window replaced by BOS,
//             only the second half scored (positions ctx/2 .. ctx-2 predict the next token:
//             ctx - 1 - ctx/2 per window).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "kernels/exec_context.h"
#include "model/llama_model.h"

namespace lowbit::eval {

enum class Protocol { gptq, llamacpp };

Protocol parse_protocol(const std::string& name);  // throws InvalidArgument
std::string protocol_name(Protocol protocol);

struct EvalOptions {
  int64_t ctx = 512;
  Protocol protocol = Protocol::gptq;
  int64_t max_windows = 0;  // 0 = every full window
};

struct EvalResult {
  std::string protocol;
  int64_t ctx = 0;
  int64_t tokens = 0;  // tokens in the text (BOS included)
  int64_t windows = 0;
  int64_t scored_tokens = 0;
  double mean_nll = 0, ppl = 0, ppl_stderr = 0;
  // Filled when a baseline model was given.
  bool has_baseline = false;
  double baseline_ppl = 0, baseline_ppl_stderr = 0;
  double kld = 0, kld_stderr = 0, kld_max = 0;  // KL(baseline || model), nats per token
  double top1_agreement = 0;                    // fraction of positions with the same argmax
  double seconds = 0;                           // wall time of the model's forward passes
};

// Called after each window with (windows done, windows total, running ppl).
using EvalProgress = std::function<void(int64_t, int64_t, double)>;

// Scores `tokens` with `model` (and `baseline` when not null). Throws on non-finite logits or
// a text shorter than one window.
EvalResult evaluate(const model::LlamaModel& model, const model::LlamaModel* baseline,
                    std::span<const int32_t> tokens, int32_t bos_id, const EvalOptions& options,
                    kernels::ExecContext& ctx, const EvalProgress& progress = {});

}  // namespace lowbit::eval
