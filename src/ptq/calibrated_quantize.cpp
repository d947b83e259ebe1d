// SPDX-License-Identifier: MIT
#include "ptq/calibrated_quantize.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>

#include "kernels/kernels.h"
#include "model/block_forward.h"
#include "model/llama_config.h"
#include "model/llama_weights.h"
#include "ptq/awq_block.h"
#include "ptq/float_target.h"
#include "ptq/input_stats.h"
#include "ptq/smooth_block.h"
#include "quant/rtn.h"
#include "util/check.h"
#include "util/log.h"
#include "util/timer.h"

namespace lowbit::ptq {

namespace {

int64_t input_width(const model::LlamaConfig& c, model::LinearInput input) {
  switch (input) {
    case model::LinearInput::qkv:
    case model::LinearInput::gate_up:
      return c.dim;
    case model::LinearInput::o:
      return c.q_dim();
    case model::LinearInput::down:
      return c.hidden_dim;
  }
  return 0;
}

// What every block's quantization shares: the model, the options, the calibration
// activations (this block's inputs) and scratch.
struct BlockRun {
  const model::LlamaConfig& c;
  const ModelSource& source;
  const QuantizeOptions& options;
  const quant::Scheme& scheme;  // options.linear
  const CalibrationOptions& calibration;
  const quant::GptqOptions& gptq;
  kernels::ExecContext& ctx;
  const std::vector<float>& inv_freq;
  const std::vector<float>& hidden;  // [samples, seq_len, dim]
  // The unquantized model's hidden states entering this block (--match-float), else empty.
  const std::vector<float>& hidden_float;
  int64_t samples, seq_len;
  model::KvCache& cache;
  model::BlockScratch& scratch;
  std::vector<float>& x;  // one window's rows
};

// Observes block l (`block`, as stored) on the calibration activations and quantizes its seven
// linears with GPTQ (from their inputs' Hessians) or AWQ (scale search, fold and clip on the
// sampled input rows), each reported against RTN on the same rows. Sets qblock's linears (and
// AWQ's folded norms) to the result; returns what the block contributes to the output.
StoredBlock quantize_block(const BlockRun& run, int64_t l, const model::BlockWeights& block,
                           model::BlockWeights& qblock) {
  const model::LlamaConfig& c = run.c;
  const ModelSource& source = run.source;
  const quant::Scheme& scheme = run.scheme;
  const CalibrationOptions& calibration = run.calibration;
  kernels::ExecContext& ctx = run.ctx;
  const int64_t samples = run.samples, seq_len = run.seq_len, dim = c.dim;
  const bool awq = scheme.algorithm == "awq";
  const bool smooth = is_smooth_algorithm(scheme.algorithm);
  const std::vector<std::string> names = model::linear_tensor_names(l);
  const std::string prefix = concat("model.layers.", l, ".");
  StoredBlock out;
  // True-sequential GPTQ observes each later input again once the linears before it are
  // quantized, so pass 1 needs only q/k/v's input.
  const bool true_sequential = !awq && !smooth && calibration.true_sequential;
  const std::array<bool, model::kLinearInputs> first_pass{true, !true_sequential, !true_sequential,
                                                          !true_sequential};
  // Statistics of the inputs being observed (allocated only for those: the down input's X^T X
  // alone is hidden_dim^2 doubles).
  std::array<std::unique_ptr<InputStats>, model::kLinearInputs> stats;
  const auto fresh_stats = [&](size_t input) {
    stats[input] =
        std::make_unique<InputStats>(input_width(c, static_cast<model::LinearInput>(input)),
                                     samples * seq_len, calibration.max_sample_rows);
  };
  for (size_t i = 0; i < stats.size(); ++i)
    if (first_pass[i]) fresh_stats(i);
  // Float targets: the drift of each observed input from the unquantized model's.
  const bool match_float = !run.hidden_float.empty();
  std::array<std::unique_ptr<DriftStats>, model::kLinearInputs> drifts;
  const auto fresh_drift = [&](size_t input) {
    if (match_float)
      drifts[input] =
          std::make_unique<DriftStats>(input_width(c, static_cast<model::LinearInput>(input)));
  };
  for (size_t i = 0; i < drifts.size(); ++i)
    if (first_pass[i]) fresh_drift(i);
  std::array<std::vector<float>, model::kLinearInputs> float_rows;  // one window's, per input
  std::array<int64_t, model::kLinearInputs> float_used{}, float_paired{};
  std::vector<float> xf(match_float ? run.x.size() : 0);
  // Runs the calibration windows through `b`, observing the inputs in `wanted`; the
  // outputs are not kept. With float targets each window first runs through the block as
  // stored on the unquantized model's hidden states, whose inputs are kept to pair with `b`'s.
  const auto observe = [&](const model::BlockWeights& b,
                           const std::array<bool, model::kLinearInputs>& wanted) {
    const model::LinearObserver float_observer = [&](int64_t, model::LinearInput input,
                                                     const float* in, int64_t rows, int64_t cols) {
      const auto i = static_cast<size_t>(input);
      if (!wanted[i]) return;
      float_rows[i].resize(static_cast<size_t>((float_used[i] + rows) * cols));
      std::copy_n(in, rows * cols, float_rows[i].begin() + float_used[i] * cols);
      float_used[i] += rows;
    };
    const model::LinearObserver observer = [&](int64_t, model::LinearInput input, const float* in,
                                               int64_t rows, int64_t cols) {
      const auto i = static_cast<size_t>(input);
      if (!wanted[i]) return;
      stats[i]->add(in, rows, *ctx.pool);
      if (match_float) {
        LB_CHECK(float_paired[i] + rows <= float_used[i], "float target rows out of step");
        drifts[i]->add(in, float_rows[i].data() + float_paired[i] * cols, rows, *ctx.pool);
        float_paired[i] += rows;
      }
    };
    for (int64_t s = 0; s < samples; ++s) {
      if (match_float) {
        float_used = {};
        std::copy_n(run.hidden_float.begin() + s * seq_len * dim, seq_len * dim, xf.begin());
        model::run_block(c, block, run.inv_freq, l, 0, xf.data(), seq_len, 0, run.cache,
                         run.scratch, ctx, &float_observer);
        float_paired = {};
      }
      std::copy_n(run.hidden.begin() + s * seq_len * dim, seq_len * dim, run.x.begin());
      model::run_block(c, b, run.inv_freq, l, 0, run.x.data(), seq_len, 0, run.cache, run.scratch,
                       ctx, &observer);
    }
  };
  // Pass 1: the block as stored.
  observe(block, first_pass);
  const auto norm_tensor = [&](const std::vector<float>& v) {
    return QuantizedTensor::dense(QuantKind::f32, {static_cast<int64_t>(v.size())},
                                  Buffer::copy_of(v.data(), v.size() * sizeof(float)));
  };
  if (smooth) {
    // Static activation scales, and SmoothQuant's folded scales, from the observed inputs.
    std::array<const InputStats*, 4> views;
    for (size_t i = 0; i < 4; ++i) views[i] = stats[i].get();
    SmoothOptions so = calibration.smooth;
    so.smooth = scheme.algorithm == "smoothquant";
    SmoothBlockResult r = quantize_smooth_block(c, block, views, scheme, so, ctx);
    if (so.smooth) {
      qblock.attn_norm = r.attn_norm;
      qblock.ffn_norm = r.ffn_norm;
      out.tensors.add(prefix + "input_layernorm.weight", norm_tensor(r.attn_norm));
      out.tensors.add(prefix + "post_attention_layernorm.weight", norm_tensor(r.ffn_norm));
    }
    for (int i = 0; i < 7; ++i) {
      const auto ui = static_cast<size_t>(i);
      LayerReport lr;
      lr.name = names[ui];
      lr.method = scheme.algorithm;
      lr.scheme = scheme.name;
      lr.error = r.error[ui];
      lr.rtn_error = r.plain_error[ui];
      out.report.push_back(lr);
      qblock.linear(i) = r.linears[ui];
      out.tensors.add(names[ui], std::move(r.linears[ui]));
    }
    return out;
  }
  // Quantize the seven linears: GPTQ from their inputs' Hessians, or AWQ's scale search,
  // fold and clip on the sampled input rows. Both are reported against RTN on the same rows.
  std::array<std::vector<double>, model::kLinearInputs> hessians;
  std::array<DriftMoments, model::kLinearInputs> drift_moments;
  const auto take_stats = [&](size_t i) {
    hessians[i] = stats[i]->hessian();
    if (match_float) {
      drift_moments[i] = drifts[i]->moments();
      drifts[i].reset();
    }
  };
  for (size_t i = 0; i < stats.size(); ++i)
    if (first_pass[i]) take_stats(i);
  AwqBlockResult awq_result;
  if (awq) {
    std::array<const InputStats*, 4> views;
    for (size_t i = 0; i < 4; ++i) views[i] = stats[i].get();
    awq_result = quantize_awq_block(c, block, views, scheme.format, calibration.awq);
    qblock.attn_norm = awq_result.attn_norm;
    qblock.ffn_norm = awq_result.ffn_norm;
    out.tensors.add(prefix + "input_layernorm.weight", norm_tensor(awq_result.attn_norm));
    out.tensors.add(prefix + "post_attention_layernorm.weight", norm_tensor(awq_result.ffn_norm));
  }
  for (int i = 0; i < 7; ++i) {
    const std::string& name = names[static_cast<size_t>(i)];
    const auto input = static_cast<size_t>(model::linear_input_of(i));
    if (hessians[input].empty()) {
      // True-sequential: this input as the block with its earlier linears quantized
      // (qblock) produces it.
      fresh_stats(input);
      fresh_drift(input);
      std::array<bool, model::kLinearInputs> wanted{};
      wanted[input] = true;
      observe(qblock, wanted);
      take_stats(input);
      stats[input].reset();
    }
    const std::vector<double>& h = hessians[input];
    // The relative output error: against the unquantized model's output with float targets.
    const auto output_error = [&](const float* w, const float* q, int64_t rows, int64_t cols) {
      return match_float
                 ? float_target_error(w, q, rows, cols, h.data(), drift_moments[input].cross.data(),
                                      drift_moments[input].drift.data())
                 : relative_output_error(w, q, rows, cols, h.data());
    };
    const QuantizedTensor& stored_weight = source.tensors.at(name);
    const std::vector<float> w = kernels::dequantize_all(stored_weight);
    const int64_t rows = stored_weight.rows(), cols = stored_weight.cols();
    // This linear's own scheme: a --tensor-type rule's (gptq or data-free), else the run's.
    const quant::Scheme& own = *run.options.linear_scheme(name);
    LayerReport r;
    r.name = name;
    r.method = own.algorithm;
    r.scheme = own.name;
    QuantizedTensor q;
    if (awq) {
      q = std::move(awq_result.linears[static_cast<size_t>(i)]);
      r.error = relative_output_error(w.data(), awq_result.effective[static_cast<size_t>(i)].data(),
                                      rows, cols, h.data());
    } else if (own.algorithm == "gptq") {
      // Float targets: GPTQ on the weight that best maps this model's inputs to the
      // unquantized model's outputs (ptq/float_target.h).
      std::optional<std::vector<float>> target;
      if (match_float) {
        target = float_target_weights(w.data(), rows, cols, h.data(), drift_moments[input],
                                      run.calibration.match_float, run.gptq.damp,
                                      run.gptq.max_damp_raises);
        if (!target)
          log_warning("tensor ", name,
                      ": the float-target correction could not be solved; GPTQ fits the "
                      "partly quantized model's output instead");
      }
      quant::GptqResult g = quant::quantize_gptq(target ? target->data() : w.data(), rows, cols,
                                                 h.data(), own.format, run.gptq, name);
      r.damp = g.damp;
      r.rtn_fallback = g.rtn_fallback;
      q = std::move(g.weight);
      r.error = output_error(w.data(), kernels::dequantize_all(q).data(), rows, cols);
    } else {
      q = quantize_data_free(w.data(), rows, cols, own, name, ctx.pool.get());
      r.error = output_error(w.data(), kernels::dequantize_all(q).data(), rows, cols);
    }
    // RTN in the same format for comparison (ggml's own block rounding is the RTN of its
    // formats, k-quants included).
    if (own.algorithm == "ggml") {
      r.rtn_error = r.error;
    } else {
      const QuantizedTensor rtn =
          quant::quantize_rtn(w.data(), rows, cols, own.format, name, ctx.pool.get());
      r.rtn_error = output_error(w.data(), kernels::dequantize_all(rtn).data(), rows, cols);
    }
    out.report.push_back(r);
    qblock.linear(i) = q;
    out.tensors.add(name, std::move(q));
  }
  return out;
}

}  // namespace

bool is_smooth_algorithm(const std::string& algorithm) {
  return algorithm == "smoothquant" || algorithm == "static";
}

bool needs_calibration(const QuantizeOptions& options) {
  const std::vector<const quant::Scheme*> schemes = options.linear_schemes();
  return std::any_of(schemes.begin(), schemes.end(),
                     [](const quant::Scheme* s) { return !is_data_free(*s); });
}

CalibratedModel quantize_calibrated(const ModelSource& source, const QuantizeOptions& options,
                                    const std::vector<std::vector<int32_t>>& windows,
                                    const CalibrationOptions& calibration,
                                    kernels::ExecContext& ctx,
                                    const std::function<void(const CalibrationProgress&)>& progress,
                                    const BlockStore* store) {
  LB_CHECK_ARG(options.linear.has_value(), "calibration needs a linear scheme");
  const quant::Scheme& scheme = *options.linear;
  LB_CHECK_ARG(needs_calibration(options), "scheme ", scheme.name, " needs algorithm ",
               scheme.algorithm, ", which the calibration driver does not run");
  const bool awq = scheme.algorithm == "awq";
  // AWQ and SmoothQuant replace the block's norms with folded ones.
  const bool folds_norms = awq || scheme.algorithm == "smoothquant";
  LB_CHECK_ARG(!windows.empty() && !windows[0].empty(), "no calibration windows");
  const model::LlamaConfig c = model::LlamaConfig::from_json(source.config);
  options.check_rules(c);
  // Mixed bit widths: per linear, GPTQ or a data-free algorithm. AWQ and SmoothQuant fold
  // one scale per scaling group into the norms and linears of a whole block, searched for one
  // format, so their runs take no rules.
  for (const TensorRule& rule : options.rules) {
    const std::string what = concat("--tensor-type ", rule.pattern, "=", rule.scheme.name);
    LB_CHECK_ARG(!awq && !is_smooth_algorithm(scheme.algorithm), what, ": scheme ", scheme.name,
                 " (", scheme.algorithm,
                 ") folds scales across a block's linears and takes no per-tensor schemes; "
                 "use gptq-<w> or a data-free scheme");
    LB_CHECK_ARG(rule.scheme.algorithm == "gptq" || is_data_free(rule.scheme), what,
                 ": a per-tensor scheme is gptq-<w> or data-free (rtn, hqq, ggml), not ",
                 rule.scheme.algorithm);
  }
  LB_CHECK_ARG(calibration.match_float >= 0 && calibration.match_float <= 1,
               "--match-float: the strength must be in [0, 1], got ", calibration.match_float);
  LB_CHECK_ARG(calibration.match_float == 0 || (!awq && !is_smooth_algorithm(scheme.algorithm)),
               "--match-float: scheme ", scheme.name, " (", scheme.algorithm,
               ") does not run GPTQ; float targets correct GPTQ's weights");
  const auto seq_len = static_cast<int64_t>(windows[0].size());
  for (const auto& w : windows)
    LB_CHECK_ARG(static_cast<int64_t>(w.size()) == seq_len, "calibration windows differ in length");
  LB_CHECK_ARG(seq_len <= c.max_seq_len, "--calib-seq-len ", seq_len,
               " exceeds the model's context of ", c.max_seq_len);
  const auto samples = static_cast<int64_t>(windows.size());
  const int64_t dim = c.dim;
  // Every linear is checked before the long work starts.
  model::for_each_linear(c, [&](const std::string& name, const Shape& shape) {
    const QuantizedTensor& t = source.tensors.at(name);
    LB_CHECK_FORMAT(t.shape == shape, "tensor ", name, " has shape ", shape_string(t.shape),
                    ", expected ", shape_string(shape));
    t.check_finite(name);
    // Checking read every byte; the block loop reads them again one block at a time.
    t.release_pages();
  });

  // Hidden states of every window, [samples, seq_len, dim], starting from the embeddings.
  const QuantizedTensor& embed = source.tensors.at("model.embed_tokens.weight");
  std::vector<float> hidden(static_cast<size_t>(samples * seq_len * dim));
  for (int64_t s = 0; s < samples; ++s)
    for (int64_t t = 0; t < seq_len; ++t) {
      const int32_t token = windows[static_cast<size_t>(s)][static_cast<size_t>(t)];
      LB_CHECK_ARG(token >= 0 && token < c.vocab_size, "calibration token id ", token,
                   " is outside the vocabulary");
      kernels::embedding_lookup(embed, token,
                                &hidden[static_cast<size_t>((s * seq_len + t) * dim)]);
    }

  const std::vector<float> inv_freq = c.rope_inv_freq();
  model::KvCache cache(1, seq_len, c.kv_dim());
  model::BlockScratch scratch;
  std::vector<float> x(static_cast<size_t>(seq_len * dim));
  quant::GptqOptions gptq = calibration.gptq;
  gptq.pool = ctx.pool.get();

  // Float targets: the unquantized model's hidden states, advanced through each block as
  // stored.
  std::vector<float> hidden_float;
  if (calibration.match_float > 0) hidden_float = hidden;
  const BlockRun run{c,      source,       options, scheme,  calibration, gptq,    ctx, inv_freq,
                     hidden, hidden_float, samples, seq_len, cache,       scratch, x};
  CalibratedModel result;
  TensorMap quantized;  // the block linears, by name
  Timer timer;
  double work_seconds = 0;  // spent on blocks quantized in this run (not resumed), for the ETA
  int64_t worked_blocks = 0;
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const model::BlockWeights block = model::bind_block(c, source.tensors, l);
    const std::vector<std::string> names = model::linear_tensor_names(l);
    const std::string prefix = concat("model.layers.", l, ".");
    const std::string attn_norm_name = prefix + "input_layernorm.weight";
    const std::string ffn_norm_name = prefix + "post_attention_layernorm.weight";
    model::BlockWeights qblock = block;
    TensorMap block_tensors;  // what this block contributes to the output
    std::vector<LayerReport> block_report;
    CalibrationProgress p;
    const double block_start = timer.seconds();
    std::optional<StoredBlock> stored;
    if (store) {
      std::map<std::string, ExpectedTensor> expected;
      for (const std::string& name : names)
        expected[name] = {source.tensors.at(name).shape, options.linear_scheme(name)->format};
      if (folds_norms) {
        expected[attn_norm_name] = {{dim}, QuantFormat::dense(QuantKind::f32)};
        expected[ffn_norm_name] = {{dim}, QuantFormat::dense(QuantKind::f32)};
      }
      stored = store->load(l, expected);
    }
    if (stored) {
      block_tensors = std::move(stored->tensors);
      block_report = std::move(stored->report);
      if (folds_norms) {
        qblock.attn_norm = kernels::dequantize_all(block_tensors.at(attn_norm_name));
        qblock.ffn_norm = kernels::dequantize_all(block_tensors.at(ffn_norm_name));
      }
      for (int i = 0; i < 7; ++i)
        qblock.linear(i) = block_tensors.at(names[static_cast<size_t>(i)]);
      p.resumed = true;
    } else {
      StoredBlock fresh = quantize_block(run, l, block, qblock);
      block_tensors = std::move(fresh.tensors);
      block_report = std::move(fresh.report);
      if (store) store->save(l, block_tensors, block_report);
    }
    for (const LayerReport& r : block_report) {
      if (r.error >= p.worst_error) {
        p.worst_error = r.error;
        p.worst_layer = r.name;
      }
      result.report.push_back(r);
    }
    for (const std::string& name : block_tensors.names())
      quantized.add(name, block_tensors.at(name));
    // Pass 2: the quantized block's outputs feed the next block.
    for (int64_t s = 0; s < samples; ++s)
      model::run_block(c, qblock, inv_freq, l, 0, &hidden[static_cast<size_t>(s * seq_len * dim)],
                       seq_len, 0, cache, scratch, ctx);
    for (int64_t s = 0; s < samples && calibration.match_float > 0; ++s)
      model::run_block(c, block, inv_freq, l, 0,
                       &hidden_float[static_cast<size_t>(s * seq_len * dim)], seq_len, 0, cache,
                       scratch, ctx);
    // The block's source weights are not read again: drop their mapped pages, so resident
    // memory holds about one block of weights, not the whole model.
    for (const std::string& name : names) source.tensors.at(name).release_pages();
    if (!p.resumed) {
      work_seconds += timer.seconds() - block_start;
      ++worked_blocks;
    }
    if (progress) {
      p.block = l + 1;
      p.blocks = c.n_layers;
      p.seconds = timer.seconds();
      p.eta_seconds = worked_blocks == 0 ? 0.0
                                         : work_seconds / static_cast<double>(worked_blocks) *
                                               static_cast<double>(c.n_layers - l - 1);
      progress(p);
    }
  }

  // Every other tensor as stored, then the head / embedding by RTN when asked.
  ModelSource calibrated = source;
  calibrated.tensors = TensorMap();
  for (const std::string& name : source.tensors.names())
    calibrated.tensors.add(name,
                           quantized.contains(name) ? quantized.at(name) : source.tensors.at(name));
  result.model =
      quantize_model(calibrated, QuantizeOptions{std::nullopt, options.head, options.embed}, ctx);
  nlohmann::json& q = result.model.quantization;
  q["scheme"] = options.name();
  q["algorithm"] = scheme.algorithm;
  q["format"] = format_name(scheme.format);
  q["bits"] = scheme.format.bits;
  q["group_size"] = scheme.format.group_size;
  q["symmetric"] = scheme.format.symmetric;
  q["targets"] = "linear layers of every block (q,k,v,o,gate,up,down)";
  add_tensor_rules(options, c, q);
  q["calibration"] = {{"samples", samples}, {"seq_len", seq_len}};
  if (is_smooth_algorithm(scheme.algorithm)) {
    q["activations"] = act_quant_name(scheme.act.kind);
    if (scheme.algorithm == "smoothquant")
      q["calibration"]["alpha"] = calibration.smooth.alpha < 0
                                      ? nlohmann::json("auto")
                                      : nlohmann::json(calibration.smooth.alpha);
    q["calibration"]["search_rows"] = calibration.smooth.search_rows;
  } else if (awq) {
    q["calibration"]["awq_grid"] = calibration.awq.n_grid;
    q["calibration"]["awq_sample_rows"] = calibration.max_sample_rows;
  } else {
    q["calibration"]["damp"] = calibration.gptq.damp;
    q["calibration"]["act_order"] = calibration.gptq.act_order;
    q["calibration"]["block_size"] = calibration.gptq.block_size;
    q["calibration"]["mse_clip"] = calibration.gptq.mse_clip;
    q["calibration"]["true_sequential"] = calibration.true_sequential;
    q["calibration"]["match_float"] = calibration.match_float;
  }
  return result;
}

nlohmann::json calibration_fingerprint(const QuantizeOptions& options,
                                       const std::vector<std::vector<int32_t>>& windows,
                                       const CalibrationOptions& calibration) {
  // FNV-1a over the window lengths and token ids: the windows stand for the calibration text,
  // its tokenization, --calib-samples, --calib-seq-len and --seed at once.
  uint64_t hash = 0xcbf29ce484222325ull;
  const auto mix = [&](uint64_t v) {
    for (int b = 0; b < 8; ++b) {
      hash ^= (v >> (8 * b)) & 0xffu;
      hash *= 0x100000001b3ull;
    }
  };
  for (const auto& w : windows) {
    mix(w.size());
    for (const int32_t t : w) mix(static_cast<uint32_t>(t));
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  const quant::GptqOptions& g = calibration.gptq;
  const quant::AwqOptions& a = calibration.awq;
  nlohmann::json rules = nlohmann::json::array();
  for (const TensorRule& r : options.rules) rules.push_back(r.pattern + "=" + r.scheme.name);
  return {{"scheme", options.name()},
          {"tensor_types", std::move(rules)},
          {"windows", windows.size()},
          {"window_tokens", windows.empty() ? 0 : windows[0].size()},
          {"windows_fnv1a", hex},
          {"gptq",
           {{"damp", g.damp},
            {"max_damp_raises", g.max_damp_raises},
            {"block_size", g.block_size},
            {"act_order", g.act_order},
            {"static_groups", g.static_groups},
            {"mse_clip", g.mse_clip},
            {"double_precision", g.double_precision}}},
          {"awq",
           {{"n_grid", a.n_grid},
            {"max_shrink", a.max_shrink},
            {"clip_grid", a.clip_grid},
            {"clip_max_rows", a.clip_max_rows}}},
          {"smooth",
           {{"alpha", calibration.smooth.alpha}, {"search_rows", calibration.smooth.search_rows}}},
          {"max_sample_rows", calibration.max_sample_rows},
          {"true_sequential", calibration.true_sequential},
          {"match_float", calibration.match_float}};
}

}  // namespace lowbit::ptq
