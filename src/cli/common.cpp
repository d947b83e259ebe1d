// SPDX-License-Identifier: MIT
// Shared CLI helpers.
#include "cli/common.h"

#include <cstdio>
#include <iostream>

#include "model/llama_config.h"
#include "model/llama_weights.h"
#include "util/atomic_file.h"
#include "util/check.h"
#include "util/log.h"

namespace lowbit::cli {

void add_model_options(CLI::App* cmd, ModelOptions& o) {
  cmd->add_option("-m,--model", o.model,
                  "HF directory, .gguf file, llama2.c .bin or lowbit checkpoint")
      ->required();
  cmd->add_option("--tokenizer", o.tokenizer, "Tokenizer file (llama2.c tokenizer.bin)");
  cmd->add_option("-t,--threads", o.threads, "Worker threads (0 = all cores)")
      ->check(CLI::NonNegativeNumber);
}

void add_scheme_options(CLI::App* cmd, SchemeOptions& o) {
  cmd->add_option("-s,--scheme", o.scheme, "Scheme name (see `lowbit schemes`)");
  cmd->add_option("--bits", o.bits, "Compose a scheme: integer bits 2..8 (16 = f16, 32 = f32)");
  cmd->add_option("--group-size", o.group_size,
                  "With --bits: group size along the input (0 = per-channel, -1 = per-tensor)");
  cmd->add_flag("--symmetric", o.symmetric, "With --bits: symmetric (no zero-point)");
  cmd->add_flag("--requantize", o.requantize,
                "Allow quantizing a model that is already quantized (from its dequantized "
                "values)");
}

std::optional<quant::Scheme> resolve_scheme(const SchemeOptions& o) {
  LB_CHECK_ARG(o.scheme.empty() || o.bits == 0, "give either --scheme or --bits, not both");
  if (!o.scheme.empty()) return quant::find_scheme(o.scheme);
  if (o.bits != 0) return quant::compose_scheme(o.bits, o.group_size, o.symmetric);
  return std::nullopt;
}

namespace {

// The stored format of the first linear layer (all linears share it in lowbit's outputs).
QuantFormat first_linear_format(const ModelSource& source) {
  const model::LlamaConfig config = model::LlamaConfig::from_json(source.config);
  std::optional<QuantFormat> format;
  model::for_each_linear(config, [&](const std::string& name, const Shape&) {
    if (!format && source.tensors.contains(name)) format = source.tensors.at(name).format;
  });
  return format.value_or(QuantFormat{});
}

}  // namespace

std::string stored_quantization(const ModelSource& source) {
  const QuantFormat format = first_linear_format(source);
  if (format.is_dense()) return {};
  if (source.quantization.is_object() && source.quantization.contains("scheme") &&
      source.quantization.at("scheme").is_string())
    return source.quantization.at("scheme").get<std::string>();
  return format_name(format);
}

std::string check_requantize(const ModelSource& source, const SchemeOptions& o) {
  const std::string stored = stored_quantization(source);
  if (stored.empty()) return concat(format_name(first_linear_format(source)), " weights");
  LB_CHECK_ARG(o.requantize, source.path.string(), " is already quantized (", stored,
               "); quantizing it again starts from its dequantized values, not the original "
               "weights: pass --requantize to do so anyway");
  log_info("warning: ", source.path.string(), " is already quantized (", stored,
           "); re-quantizing its dequantized values, so the baseline is the ", stored,
           " model, not the original");
  return concat("dequantized ", stored, " weights (re-quantized)");
}

ModelSource open_model(const ModelOptions& o) {
  // The config is checked before any weight is read, so a config error is reported as such.
  model::LlamaConfig::from_json(load_model_config(o.model));
  std::optional<std::filesystem::path> tok;
  if (!o.tokenizer.empty()) tok = o.tokenizer;
  return load_model_source(o.model, tok);
}

kernels::ExecContext make_context(const ModelOptions& o) { return kernels::ExecContext(o.threads); }

const Tokenizer& require_tokenizer(const ModelSource& source) {
  LB_CHECK_ARG(source.tokenizer != nullptr, source.path.string(),
               ": no tokenizer found (give --tokenizer FILE)");
  return *source.tokenizer;
}

void check_output_directory(const std::string& out, bool force,
                            bool (*is_ours)(const std::filesystem::path&), const char* what) {
  namespace fs = std::filesystem;
  for (const std::string& line : remove_stale_temporaries(out)) log_info("lowbit: ", line);
  std::error_code ec;
  const fs::file_status st = fs::symlink_status(out, ec);
  if (!fs::exists(st)) return;
  LB_CHECK_ARG(fs::is_directory(st), "--out ", out,
               ": exists and is not a directory; refusing to replace it");
  if (fs::is_empty(out, ec)) return;
  LB_CHECK_ARG(is_ours(out), "--out ", out, ": exists and is not ", what,
               "; refusing to replace it (choose another path)");
  LB_CHECK_ARG(force, "--out ", out, ": already holds ", what, "; pass --force to replace it");
}

void print_json(const nlohmann::json& value) {
  // Generated text can end inside a UTF-8 sequence (byte-fallback tokens): such bytes print as
  // U+FFFD instead of failing the whole command.
  std::cout << value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
}

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024.0 && u < 4) {
    bytes /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", bytes, units[u]);
  return buf;
}

}  // namespace lowbit::cli
