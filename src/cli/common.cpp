// SPDX-License-Identifier: MIT
// Shared CLI helpers.
#include "cli/common.h"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>

#include "model/llama_config.h"
#include "model/llama_weights.h"
#include "tensor/dequantize.h"
#include "util/atomic_file.h"
#include "util/check.h"
#include "util/log.h"

namespace lowbit::cli {

namespace {

std::optional<int64_t> parse_integer(const std::string& text) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

}  // namespace

CLI::Validator integer_range(int64_t min, int64_t max) {
  return CLI::Validator(
      [min, max](std::string& text) -> std::string {
        const auto v = parse_integer(text);
        if (!v) return concat("'", text, "' is not an integer");
        if (*v < min || *v > max) return concat(*v, " is outside ", min, "..", max);
        return {};
      },
      concat("INT in ", min, "..", max));
}

CLI::Validator number_range(double min, double max) {
  return CLI::Validator(
      [min, max](std::string& text) -> std::string {
        double v = 0;
        const char* end = text.data() + text.size();
        const auto [ptr, ec] = std::from_chars(text.data(), end, v);
        if (ec != std::errc() || ptr != end || text.empty() || !std::isfinite(v))
          return concat("'", text, "' is not a number");
        if (v < min || v > max) return concat(text, " is outside ", min, "..", max);
        return {};
      },
      concat("NUMBER in ", min, "..", max));
}

CLI::Validator readable_path(bool directory_ok) {
  return CLI::Validator(
      [directory_ok](std::string& text) -> std::string {
        namespace fs = std::filesystem;
        std::error_code ec;
        const fs::file_status st = fs::status(text, ec);
        if (!fs::exists(st)) return concat(text, ": no such file or directory");
        if (fs::is_directory(st)) {
          if (!directory_ok) return concat(text, ": is a directory, not a file");
          if (::access(text.c_str(), R_OK | X_OK) != 0)
            return concat(text, ": cannot be read: ", std::strerror(errno));
          return {};
        }
        if (::access(text.c_str(), R_OK) != 0)
          return concat(text, ": cannot be read: ", std::strerror(errno));
        return {};
      },
      directory_ok ? "PATH" : "FILE");
}

void add_model_options(CLI::App* cmd, ModelOptions& o) {
  cmd->add_option("-m,--model", o.model,
                  "HF directory, .gguf file, llama2.c .bin or lowbit checkpoint")
      ->required()
      ->check(readable_path(true));
  cmd->add_option("--tokenizer", o.tokenizer, "Tokenizer file (llama2.c tokenizer.bin)")
      ->check(readable_path(false));
  cmd->add_option("-t,--threads", o.threads, "Worker threads (0 = all cores)")
      ->check(integer_range(0, 4096));
}

void add_matmul_option(CLI::App* cmd, std::string& matmul) {
  cmd->add_option("--matmul", matmul,
                  "Weight-only 4/8-bit linears: int8 (input in int8 blocks of 32, integer "
                  "products: fast) or f32 (input stays f32: the accuracy reference)")
      ->check(CLI::IsMember({"f32", "int8"}))
      ->capture_default_str();
}

void add_scheme_options(CLI::App* cmd, SchemeOptions& o) {
  cmd->add_option("-s,--scheme", o.scheme, "Scheme name (see `lowbit schemes`)");
  cmd->add_option("--bits", o.bits, "Compose a scheme: integer bits 2..8 (16 = f16, 32 = f32)")
      ->check(integer_range(2, 32));
  cmd->add_option("--group-size", o.group_size,
                  "With --bits 2..8: group size along the input (0 = per-channel, -1 = "
                  "per-tensor; default 128)")
      ->check(integer_range(-1, 1 << 30));
  cmd->add_flag("--symmetric", o.symmetric,
                "With --bits 2..8: symmetric (no zero-point; default asymmetric)");
  cmd->add_flag("--requantize", o.requantize,
                "Allow quantizing a model that is already quantized (from its dequantized "
                "values)");
}

std::optional<quant::Scheme> resolve_scheme(const SchemeOptions& o) {
  LB_CHECK_ARG(o.scheme.empty() || o.bits == 0, "give either --scheme or --bits, not both");
  const bool shaped = o.group_size.has_value() || o.symmetric;
  if (!o.scheme.empty()) {
    LB_CHECK_ARG(!shaped,
                 "--group-size and --symmetric compose a scheme with --bits; they do "
                 "not change --scheme ",
                 o.scheme);
    return quant::find_scheme(o.scheme);
  }
  if (o.bits == 0) {
    LB_CHECK_ARG(!shaped, "--group-size and --symmetric need --bits");
    return std::nullopt;
  }
  LB_CHECK_ARG(!(shaped && (o.bits == 16 || o.bits == 32)), "--bits ", o.bits,
               " is a dense format: --group-size and --symmetric do not apply");
  return quant::compose_scheme(o.bits, o.group_size.value_or(kDefaultComposedGroupSize),
                               o.symmetric);
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

void decode_ggml_only_formats(ModelSource& source) {
  if (source.format != "gguf") return;
  for (const std::string& name : source.tensors.names()) {
    const QuantizedTensor& t = source.tensors.at(name);
    if (!t.format.min_offset && !t.format.k_quant && t.format.kind != QuantKind::iq4_nl) continue;
    const std::vector<float> values = dequantize_reference(t);
    source.tensors.set(name, QuantizedTensor::from_f32(values.data(), t.shape));
    if (auto it = source.stored.find(name); it != source.stored.end())
      it->second.loaded_as = "dequantized to f32";
  }
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

void add_target_options(CLI::App* cmd, TargetOptions& o) {
  cmd->add_option("--head", o.head,
                  "Scheme for the output head (default: keep its stored format; a tied head is "
                  "the embedding)");
  cmd->add_option("--embed", o.embed,
                  "Scheme for the token embedding (default: keep its stored format)");
  cmd->add_option("--tensor-type", o.tensor_types,
                  "REGEX=SCHEME (repeatable): the block linears whose name (HF "
                  "model.layers.3.self_attn.v_proj.weight or GGUF blk.3.attn_v.weight) matches "
                  "REGEX get SCHEME instead of --scheme; the first matching rule wins")
      ->expected(1)
      ->take_all();
}

ptq::QuantizeOptions resolve_quantize(const SchemeOptions& scheme, const TargetOptions& targets) {
  ptq::QuantizeOptions q;
  q.linear = resolve_scheme(scheme);
  if (!targets.head.empty()) q.head = quant::find_scheme(targets.head);
  if (!targets.embed.empty()) q.embed = quant::find_scheme(targets.embed);
  for (const std::string& rule : targets.tensor_types) {
    const size_t eq = rule.rfind('=');
    LB_CHECK_ARG(eq != std::string::npos && eq > 0 && eq + 1 < rule.size(), "--tensor-type ", rule,
                 ": expected REGEX=SCHEME, e.g. v_proj=gptq-w4g128");
    q.rules.emplace_back(rule.substr(0, eq), quant::find_scheme(rule.substr(eq + 1)));
  }
  return q;
}

ModelSource open_model(const ModelOptions& o, bool load_tokenizer) {
  // The config is checked before any weight is read, so a config error is reported as such.
  model::LlamaConfig::from_json(load_model_config(o.model));
  std::optional<std::filesystem::path> tok;
  if (!o.tokenizer.empty()) tok = o.tokenizer;
  return load_model_source(o.model, tok, load_tokenizer);
}

kernels::ExecContext make_context(const ModelOptions& o) {
  kernels::ExecContext ctx(o.threads);
  ctx.int8_activations = o.matmul == "int8";
  return ctx;
}

const Tokenizer& require_tokenizer(const ModelSource& source) {
  if (source.tokenizer_error) std::rethrow_exception(source.tokenizer_error);
  LB_CHECK_ARG(source.tokenizer != nullptr, source.path.string(),
               ": no tokenizer found (give --tokenizer FILE)");
  return *source.tokenizer;
}

std::string tokenizer_problem(const ModelSource& source) {
  if (!source.tokenizer_error) return "";
  try {
    std::rethrow_exception(source.tokenizer_error);
  } catch (const std::exception& e) {
    return e.what();
  }
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
