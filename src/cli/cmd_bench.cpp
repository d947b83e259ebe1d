// SPDX-License-Identifier: MIT
// `lowbit bench`: prefill and decode throughput shaped like llama-bench (one row per test and
// thread count, tokens/s mean ± sd), with the bytes a decoded token reads, the bandwidth that
// implies, and peak resident memory. Reads GGUF, so the same file can go to llama-bench.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/common.h"
#include "cli/kv_cache_flags.h"
#include "cli/subcommands.h"
#include "eval/throughput.h"
#include "ptq/calibrated_quantize.h"
#include "ptq/model_loader.h"
#include "ptq/quantize_model.h"
#include "util/check.h"
#include "util/log.h"

namespace lowbit::cli {
namespace {

struct BenchArgs {
  std::string model;
  SchemeOptions scheme;
  TargetOptions targets;
  KvCacheFlags kv;
  int64_t n_prompt = 512;
  int64_t n_gen = 128;
  std::vector<int> threads{0};
  int repetitions = 5;
  std::string output = "md";
  std::string matmul = "int8";
  bool json = false;
};

std::string gb_per_s(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", v);
  return text;
}

int run_bench(const BenchArgs& a) {
  LB_CHECK_ARG(a.output == "md" || a.output == "json", "-o must be md or json, got '", a.output,
               "'");
  LB_CHECK_ARG(a.n_prompt > 0 || a.n_gen > 0, "-p 0 and -n 0: nothing to run");
  const bool json = a.json || a.output == "json";
  const kernels::KvFormat kv = kv_format_of(a.kv);
  const ptq::QuantizeOptions quantize = resolve_quantize(a.scheme, a.targets);
  ModelSource source = open_model(ModelOptions{a.model, "", 0}, /*load_tokenizer=*/false);
  if (!quantize.empty()) decode_ggml_only_formats(source);
  TensorMap tensors = source.tensors;
  std::string scheme_name = "as stored";
  if (!quantize.empty()) {
    LB_CHECK_ARG(!ptq::needs_calibration(quantize), "--scheme ", quantize.name(),
                 " needs calibration: write it with `lowbit quantize --calib FILE` and bench the "
                 "checkpoint");
    if (quantize.linear) check_requantize(source, a.scheme);
    kernels::ExecContext qctx(0);
    tensors = ptq::quantize_model(source, quantize, qctx).tensors;
    scheme_name = quantize.name();
    log_info("bench: quantized with ", scheme_name);
  }
  auto model = ptq::build_model(source.config, tensors);
  const model::LlamaConfig& c = model->config();
  const double weight_bytes = static_cast<double>(model->weights().storage_bytes(c));
  int64_t params = 0;
  for (const std::string& name : tensors.names()) params += tensors.at(name).numel();
  std::vector<eval::ThroughputTest> tests;
  if (a.n_prompt > 0) tests.push_back({a.n_prompt, 0});
  if (a.n_gen > 0) tests.push_back({0, a.n_gen});
  // Refused before any work, so the error is the only output.
  for (const eval::ThroughputTest& test : tests) {
    const int64_t n = test.n_prompt + test.n_gen;
    LB_CHECK_ARG(n <= c.max_seq_len, test.name(), ": ", n, " tokens exceed the model's context of ",
                 c.max_seq_len, " (-p / -n)");
  }

  nlohmann::json rows = nlohmann::json::array();
  for (const int threads : a.threads) {
    kernels::ExecContext ctx = make_context(ModelOptions{a.model, "", threads, a.matmul});
    for (const eval::ThroughputTest& test : tests) {
      log_info("bench: ", test.name(), ", ", ctx.threads(), " thread(s), ", a.repetitions,
               " repetitions");
      const eval::ThroughputResult r = eval::run_throughput(*model, test, a.repetitions, kv, ctx);
      nlohmann::json row = {{"model_filename", a.model},
                            {"scheme", scheme_name},
                            {"model_size", weight_bytes},
                            {"model_n_params", params},
                            {"n_threads", ctx.threads()},
                            {"type_k", a.kv.dtype},
                            {"type_v", a.kv.dtype},
                            {"test", test.name()},
                            {"n_prompt", test.n_prompt},
                            {"n_gen", test.n_gen},
                            {"avg_ts", r.mean},
                            {"stddev_ts", r.stddev},
                            {"samples_ts", r.tokens_per_second},
                            {"isa", kernels::isa_name(ctx.isa)},
                            {"matmul", a.matmul}};
      if (test.n_gen > 0) {
        // Decode reads every weight per token plus the cache so far (on average half of it).
        const double bytes =
            eval::decode_bytes_per_token(*model, kv, static_cast<double>(test.n_gen - 1) / 2.0);
        row["bytes_per_token"] = bytes;
        row["gb_per_s"] = bytes * r.mean / 1e9;
      }
      row["peak_rss_bytes"] = eval::peak_resident_bytes();
      rows.push_back(row);
    }
  }
  if (json) {
    print_json(rows);
    return 0;
  }
  std::printf(
      "| model | scheme | matmul | size | threads | kv | test | t/s | bytes/token | GB/s | peak "
      "RSS "
      "|\n");
  std::printf("|---|---|---|---:|---:|---|---|---:|---:|---:|---:|\n");
  for (const auto& row : rows) {
    const bool decode = row.contains("bytes_per_token");
    std::printf("| %s | %s | %s | %s | %d | %s | %s | %.2f ± %.2f | %s | %s | %s |\n",
                std::filesystem::path(a.model).filename().string().c_str(),
                row["scheme"].get<std::string>().c_str(), a.matmul.c_str(),
                human_bytes(weight_bytes).c_str(), row["n_threads"].get<int>(), a.kv.dtype.c_str(),
                row["test"].get<std::string>().c_str(), row["avg_ts"].get<double>(),
                row["stddev_ts"].get<double>(),
                decode ? human_bytes(row["bytes_per_token"].get<double>()).c_str() : "",
                decode ? gb_per_s(row["gb_per_s"].get<double>()).c_str() : "",
                human_bytes(row["peak_rss_bytes"].get<double>()).c_str());
  }
  return 0;
}

}  // namespace

void add_bench_command(CLI::App& app, std::function<int()>& action) {
  auto* cmd = app.add_subcommand(
      "bench", "Prefill (ppN) and decode (tgN) throughput, shaped like llama-bench");
  auto a = std::make_shared<BenchArgs>();
  cmd->add_option("-m,--model", a->model, "Model file or directory")->required();
  add_scheme_options(cmd, a->scheme);
  add_target_options(cmd, a->targets);
  add_kv_cache_flags(cmd, a->kv, /*memory=*/false);
  add_matmul_option(cmd, a->matmul);
  cmd->add_option("-p,--n-prompt", a->n_prompt, "Prompt tokens of the pp test (0: none)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 20))
      ->capture_default_str();
  cmd->add_option("-n,--n-gen", a->n_gen, "Tokens of the tg test (0: none)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 20))
      ->capture_default_str();
  cmd->add_option("-t,--threads", a->threads, "Thread counts, comma-separated (0 = all cores)")
      ->delimiter(',')
      ->check(CLI::Range(0, 4096));
  cmd->add_option("-r,--repetitions", a->repetitions, "Timed repetitions per test")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("-o,--output", a->output, "md or json")->capture_default_str();
  cmd->add_flag("--json", a->json, "Same as -o json");
  cmd->callback([&action, a] { action = [a] { return run_bench(*a); }; });
}

}  // namespace lowbit::cli
