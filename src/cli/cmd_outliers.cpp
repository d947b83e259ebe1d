// SPDX-License-Identifier: MIT
// `lowbit outliers`: where a model's activation outliers are. Runs calibration text through the
// unquantized model and reports, for every linear input, the per-channel max |x|: the largest
// channel against the median, the channels at or above LLM.int8()'s threshold and the layers
// that share them, and how many of int8's 127 levels a typical channel gets under one
// per-tensor scale (why naive W8A8 fails). --plot draws the channel magnitudes per layer.
#include <algorithm>
#include <cstdio>
#include <numeric>
#include <string>

#include "cli/common.h"
#include "cli/outlier_plot.h"
#include "cli/subcommands.h"
#include "eval/text_file.h"
#include "model/llama_config.h"
#include "ptq/activation_profile.h"
#include "ptq/calibration_windows.h"
#include "ptq/model_loader.h"
#include "util/atomic_file.h"
#include "util/check.h"
#include "util/log.h"

namespace lowbit::cli {
namespace {

struct OutliersArgs {
  ModelOptions model;
  std::string calib;
  int64_t samples = 16;
  int64_t seq_len = 512;
  uint64_t seed = 0;
  double threshold = 6.0;
  int64_t top = 5;
  bool json = false;
  std::string plot;
};

// The `top` channels by max |x|, largest first.
std::vector<int64_t> top_channels(const std::vector<float>& v, int64_t top) {
  std::vector<int64_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  const auto n = std::min<int64_t>(top, static_cast<int64_t>(idx.size()));
  std::partial_sort(idx.begin(), idx.begin() + n, idx.end(), [&](int64_t a, int64_t b) {
    return v[static_cast<size_t>(a)] > v[static_cast<size_t>(b)] ||
           (v[static_cast<size_t>(a)] == v[static_cast<size_t>(b)] && a < b);
  });
  idx.resize(static_cast<size_t>(n));
  return idx;
}

int run_outliers(const OutliersArgs& a) {
  ModelSource source = open_model(a.model);
  const Tokenizer& tokenizer = require_tokenizer(source);
  const model::LlamaConfig config = model::LlamaConfig::from_json(source.config);
  const std::string text = eval::read_text_file(a.calib, "--calib");
  const std::vector<int32_t> tokens = tokenizer.encode(text, /*add_bos=*/false);
  const int64_t seq_len = std::min(a.seq_len, config.max_seq_len);
  const auto windows =
      ptq::calibration_windows(tokens, a.samples, seq_len, a.seed, tokenizer.bos_id());
  kernels::ExecContext ctx = make_context(a.model);
  const auto model = ptq::build_model(source.config, source.tensors);
  log_info("outliers: ", windows.size(), " windows of ", seq_len, " tokens from ", a.calib);
  const ptq::ActivationProfile profile = ptq::profile_activations(*model, windows, ctx);
  const auto threshold = static_cast<float>(a.threshold);

  nlohmann::json inputs = nlohmann::json::array();
  for (const ptq::InputProfile& p : profile.inputs) {
    const ptq::InputOutliers s = ptq::summarize_input(p.abs_max, threshold);
    nlohmann::json top = nlohmann::json::array();
    for (const int64_t ch : top_channels(p.abs_max, a.top))
      top.push_back({{"channel", ch}, {"max_abs", p.abs_max[static_cast<size_t>(ch)]}});
    inputs.push_back({{"layer", p.layer},
                      {"input", model::linear_input_name(p.input)},
                      {"channels", p.abs_max.size()},
                      {"max_abs", s.max},
                      {"median_channel_max_abs", s.median},
                      {"max_over_median", s.ratio},
                      {"channels_at_threshold", s.above},
                      {"median_channel_int8_levels", s.median_levels},
                      {"top_channels", top}});
  }
  nlohmann::json shared = nlohmann::json::object();
  for (int k = 0; k < model::kLinearInputs; ++k) {
    const auto input = static_cast<model::LinearInput>(k);
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [channel, layers] : ptq::shared_outlier_channels(profile, input, threshold))
      list.push_back({{"channel", channel}, {"layers", layers}});
    shared[model::linear_input_name(input)] = list;
  }
  if (!a.plot.empty()) {
    write_file_atomic(a.plot, outlier_svg(profile, config.n_layers,
                                          "max |x| per input channel: " + a.model.model));
    log_info("outliers: wrote ", a.plot);
  }
  if (a.json) {
    print_json({{"model", a.model.model},
                {"calibration_tokens", profile.tokens},
                {"threshold", a.threshold},
                {"inputs", inputs},
                {"shared_outlier_channels", shared}});
    return 0;
  }
  std::printf("activation outliers of %s over %lld calibration tokens (threshold %g)\n",
              a.model.model.c_str(), static_cast<long long>(profile.tokens), a.threshold);
  std::printf("%5s %-8s %10s %10s %9s %6s %10s  %s\n", "layer", "input", "max|x|", "median",
              "max/med", ">=thr", "int8 lvls", "top channels (max|x|)");
  for (const auto& row : inputs) {
    std::string top;
    for (const auto& t : row["top_channels"]) {
      char buf[48];
      std::snprintf(buf, sizeof buf, "%s%lld (%.3g)", top.empty() ? "" : ", ",
                    static_cast<long long>(t["channel"].get<int64_t>()),
                    t["max_abs"].get<double>());
      top += buf;
    }
    std::printf("%5lld %-8s %10.4g %10.4g %9.1f %6zu %10.1f  %s\n",
                static_cast<long long>(row["layer"].get<int64_t>()),
                row["input"].get<std::string>().c_str(), row["max_abs"].get<double>(),
                row["median_channel_max_abs"].get<double>(), row["max_over_median"].get<double>(),
                row["channels_at_threshold"].size(),
                row["median_channel_int8_levels"].get<double>(), top.c_str());
  }
  std::printf("\nchannels at or above the threshold in two or more layers:\n");
  for (const auto& [input, list] : shared.items()) {
    // The channels shared by the most layers first; a long list is cut to the first few.
    std::vector<nlohmann::json> sorted(list.begin(), list.end());
    std::stable_sort(sorted.begin(), sorted.end(), [](const auto& x, const auto& y) {
      return x["layers"].size() > y["layers"].size();
    });
    std::printf("  %-8s", input.c_str());
    if (sorted.empty()) std::printf(" none");
    constexpr size_t kListed = 12;
    for (size_t i = 0; i < std::min(kListed, sorted.size()); ++i)
      std::printf(" %lld (%zu layers)", static_cast<long long>(sorted[i]["channel"].get<int64_t>()),
                  sorted[i]["layers"].size());
    if (sorted.size() > kListed) std::printf(" ... %zu channels in all", sorted.size());
    std::printf("\n");
  }
  std::printf(
      "(int8 lvls: levels of 127 the median channel reaches when one per-tensor scale covers "
      "the largest channel)\n");
  return 0;
}

}  // namespace

void add_outliers_command(CLI::App& app, std::function<int()>& action) {
  auto* cmd = app.add_subcommand(
      "outliers", "Per-channel activation magnitudes of every linear input, and the outliers");
  auto a = std::make_shared<OutliersArgs>();
  add_model_options(cmd, a->model);
  cmd->add_option("--calib", a->calib, "Text (UTF-8 file) to run through the model")->required();
  cmd->add_option("--calib-samples", a->samples, "Windows of calibration text")
      ->check(integer_range(1, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--calib-seq-len", a->seq_len, "Tokens per window (capped at the context)")
      ->check(integer_range(1, int64_t{1} << 24))
      ->capture_default_str();
  cmd->add_option("--seed", a->seed, "Seed of the window positions")->capture_default_str();
  cmd->add_option("--threshold", a->threshold, "LLM.int8() outlier threshold on |x|")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--top", a->top, "Largest channels listed per input")
      ->check(integer_range(0, 1 << 20))
      ->capture_default_str();
  cmd->add_flag("--json", a->json, "Print JSON");
  cmd->add_option("--plot", a->plot, "Write an SVG of channel magnitudes per layer");
  cmd->callback([&action, a] { action = [a] { return run_outliers(*a); }; });
}

}  // namespace lowbit::cli
