// SPDX-License-Identifier: MIT
#include "ptq/sensitivity.h"

#include <algorithm>
#include <cmath>

#include "kernels/kernels.h"
#include "model/block_forward.h"
#include "model/llama_config.h"
#include "model/llama_weights.h"
#include "ptq/quantize_model.h"
#include "util/check.h"
#include "util/timer.h"

namespace lowbit::ptq {

namespace {

// log(sum_v exp(z[v])) of one row, in double.
double row_log_sum_exp(const float* z, int64_t vocab) {
  const float zmax = *std::max_element(z, z + vocab);
  double sum = 0;
  for (int64_t v = 0; v < vocab; ++v) sum += std::exp(static_cast<double>(z[v] - zmax));
  return static_cast<double>(zmax) + std::log(sum);
}

// log-softmax of each row of logits[rows, vocab], in double, into out (as float).
void log_softmax_rows(const float* logits, int64_t rows, int64_t vocab, float* out,
                      kernels::ExecContext& ctx) {
  ctx.pool->parallel_for(0, rows, 1, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float* z = logits + r * vocab;
      const double lse = row_log_sum_exp(z, vocab);
      for (int64_t v = 0; v < vocab; ++v)
        out[r * vocab + v] = static_cast<float>(static_cast<double>(z[v]) - lse);
    }
  });
}

// sum over rows of KL(p || q) with p = exp(logp), q = softmax(logits); one term per row, summed
// in row order so the result does not depend on the thread count.
double kl_sum(const float* logp, const float* logits, int64_t rows, int64_t vocab,
              kernels::ExecContext& ctx) {
  std::vector<double> per_row(static_cast<size_t>(rows));
  ctx.pool->parallel_for(0, rows, 1, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float* z = logits + r * vocab;
      const float* lp = logp + r * vocab;
      const double lse = row_log_sum_exp(z, vocab);
      double kl = 0;
      for (int64_t v = 0; v < vocab; ++v) {
        const double p = std::exp(static_cast<double>(lp[v]));
        kl += p * (static_cast<double>(lp[v]) - (static_cast<double>(z[v]) - lse));
      }
      per_row[static_cast<size_t>(r)] = std::max(kl, 0.0);
    }
  });
  double total = 0;
  for (const double v : per_row) total += v;
  return total;
}

}  // namespace

std::vector<LinearSensitivity> measure_linear_sensitivity(
    const ModelSource& source, const quant::Scheme& probe,
    const std::vector<std::vector<int32_t>>& windows, kernels::ExecContext& ctx,
    const std::function<void(const SensitivityProgress&)>& progress) {
  const model::LlamaConfig c = model::LlamaConfig::from_json(source.config);
  LB_CHECK_ARG(!windows.empty() && windows[0].size() >= 2,
               "sensitivity: no calibration windows of at least 2 tokens");
  const auto len = static_cast<int64_t>(windows[0].size());
  for (const auto& w : windows)
    LB_CHECK_ARG(static_cast<int64_t>(w.size()) == len, "calibration windows differ in length");
  LB_CHECK_ARG(len <= c.max_seq_len, "--calib-seq-len ", len, " exceeds the model's context of ",
               c.max_seq_len);
  const model::LlamaWeights weights = model::LlamaWeights::bind(c, source.tensors);
  const int64_t dim = c.dim, vocab = c.vocab_size, layers = c.n_layers;
  const int64_t first = len / 2, scored = len - first;
  const std::vector<float> inv_freq = c.rope_inv_freq();
  model::KvCache cache(1, len, c.kv_dim());
  model::BlockScratch scratch;
  std::vector<float> x(static_cast<size_t>(len * dim)), xn(static_cast<size_t>(scored * dim));
  std::vector<float> logits(static_cast<size_t>(scored * vocab));

  // The scored positions' logits from hidden states x after the last block.
  const auto head = [&]() {
    for (int64_t t = 0; t < scored; ++t)
      kernels::rms_norm(&x[static_cast<size_t>((first + t) * dim)], weights.final_norm.data(), dim,
                        static_cast<float>(c.norm_eps), &xn[static_cast<size_t>(t * dim)]);
    kernels::linear(xn.data(), scored, weights.lm_head, nullptr, logits.data(), ctx);
  };
  // Runs blocks from..layers-1 on x, block `from` being `first_block`.
  const auto run_from = [&](int64_t from, const model::BlockWeights& first_block) {
    for (int64_t l = from; l < layers; ++l)
      model::run_block(c, l == from ? first_block : weights.blocks[static_cast<size_t>(l)],
                       inv_freq, l, 0, x.data(), len, 0, cache, scratch, ctx);
  };

  // Per window: the hidden states entering every block, and the stored model's log-probabilities.
  std::vector<std::vector<float>> inputs(windows.size()), logp(windows.size());
  for (size_t s = 0; s < windows.size(); ++s) {
    for (int64_t t = 0; t < len; ++t) {
      const int32_t token = windows[s][static_cast<size_t>(t)];
      LB_CHECK_ARG(token >= 0 && token < vocab, "calibration token id ", token,
                   " is outside the vocabulary");
      kernels::embedding_lookup(weights.embed, token, &x[static_cast<size_t>(t * dim)]);
    }
    inputs[s].resize(static_cast<size_t>(layers * len * dim));
    for (int64_t l = 0; l < layers; ++l) {
      std::copy(x.begin(), x.end(), inputs[s].begin() + l * len * dim);
      model::run_block(c, weights.blocks[static_cast<size_t>(l)], inv_freq, l, 0, x.data(), len, 0,
                       cache, scratch, ctx);
    }
    head();
    logp[s].resize(logits.size());
    log_softmax_rows(logits.data(), scored, vocab, logp[s].data(), ctx);
  }

  // Calibrated algorithms are probed by RTN of their weight format: their errors rank alike,
  // and the probe needs no calibration of its own.
  quant::Scheme rounding = probe;
  if (!is_data_free(rounding)) {
    rounding.algorithm = "rtn";
    rounding.act = {};
  }
  std::vector<LinearSensitivity> out;
  Timer timer;
  const int64_t total = layers * 7;
  for (int64_t l = 0; l < layers; ++l) {
    const std::vector<std::string> names = model::linear_tensor_names(l);
    for (size_t i = 0; i < names.size(); ++i) {
      const QuantizedTensor& stored = source.tensors.at(names[i]);
      const std::vector<float> w = kernels::dequantize_all(stored);
      model::BlockWeights probed = weights.blocks[static_cast<size_t>(l)];
      probed.linear(static_cast<int64_t>(i)) = quantize_data_free(
          w.data(), stored.rows(), stored.cols(), rounding, names[i], ctx.pool.get());
      double kl = 0;
      for (size_t s = 0; s < windows.size(); ++s) {
        std::copy_n(inputs[s].begin() + l * len * dim, len * dim, x.begin());
        run_from(l, probed);
        head();
        kl += kl_sum(logp[s].data(), logits.data(), scored, vocab, ctx);
      }
      out.push_back({names[i], stored.numel(),
                     kl / static_cast<double>(scored * static_cast<int64_t>(windows.size()))});
      if (progress)
        progress({static_cast<int64_t>(out.size()), total, &out.back(), timer.seconds()});
    }
  }
  return out;
}

}  // namespace lowbit::ptq
