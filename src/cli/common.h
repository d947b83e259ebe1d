// SPDX-License-Identifier: MIT
// Options and helpers shared by the subcommands that load a model.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "io/model_source.h"
#include "kernels/exec_context.h"
#include "model/llama_model.h"
#include "ptq/quantize_model.h"
#include "quant/scheme.h"

namespace lowbit::cli {

struct ModelOptions {
  std::string model;
  std::string tokenizer;
  int threads = 0;  // 0 = all hardware threads
  // How weight-only 4/8-bit linears multiply: "int8" (activations in int8 blocks of 32, integer
  // products) or "f32" (activations stay f32: the accuracy reference). Commands that offer
  // --matmul set their own default before add_matmul_option.
  std::string matmul = "f32";
};

// --model (required), --tokenizer, --threads.
void add_model_options(CLI::App* cmd, ModelOptions& options);
// --matmul f32|int8 (ModelOptions::matmul), for the commands that run the model for figures.
void add_matmul_option(CLI::App* cmd, std::string& matmul);

struct SchemeOptions {
  std::string scheme;
  int bits = 0;                   // 0 = not given
  std::optional<int> group_size;  // with --bits; 128 when not given
  bool symmetric = false;
  bool requantize = false;  // allow quantizing an already-quantized model
};
inline constexpr int kDefaultComposedGroupSize = 128;

// --scheme, or --bits/--group-size/--symmetric to compose one; --requantize.
void add_scheme_options(CLI::App* cmd, SchemeOptions& options);
// The chosen scheme, or nullopt when neither --scheme nor --bits was given. Throws
// InvalidArgument for flags that would be ignored (--group-size or --symmetric with --scheme,
// or with --bits 16 / 32).
std::optional<quant::Scheme> resolve_scheme(const SchemeOptions& options);

// --head SCHEME and --embed SCHEME: the output head and the token embedding; --tensor-type
// REGEX=SCHEME (repeatable): mixed bit widths, the block linears whose name matches REGEX.
struct TargetOptions {
  std::string head;
  std::string embed;
  std::vector<std::string> tensor_types;
};
void add_target_options(CLI::App* cmd, TargetOptions& options);
// Everything to quantize; empty() when no scheme, --head or --embed was given. Throws
// InvalidArgument naming --tensor-type for a rule that is not REGEX=SCHEME.
ptq::QuantizeOptions resolve_quantize(const SchemeOptions& scheme, const TargetOptions& targets);

// Call before applying any scheme, --head or --embed to `source`: GGUF tensors in formats only
// ggml makes (Q4_1 / Q5_1's min form, the k-quants, IQ4_NL), which load packed so they run as
// stored, become their dequantized f32 values, so that quantizing starts from them as the
// original weights, as it did when they loaded as f32 (such files are often the only release of
// a model, as SmolLM2's is). Q8_0, Q4_0 and Q5_0, lowbit's own symmetric formats, stay packed
// and need --requantize, as before.
void decode_ggml_only_formats(ModelSource& source);

// The stored format of `source`'s linear layers when they are quantized ("w4g128" for a lowbit
// checkpoint, else the format such as "int4 g32 sym" from a GGUF Q4_0); empty when dense.
std::string stored_quantization(const ModelSource& source);
// Call before applying a scheme to `source`: an already-quantized source would be quantized
// again from its dequantized values, so that needs --requantize (else InvalidArgument), and
// then a warning is logged. Returns what the scheme is applied to and what KL is measured
// against, e.g. "f32 weights" or "dequantized w4g128 weights (re-quantized)".
std::string check_requantize(const ModelSource& source, const SchemeOptions& options);

// Validators with plain one-line messages ("--ctx: 'abc' is not an integer").
CLI::Validator integer_range(int64_t min, int64_t max);
CLI::Validator number_range(double min, double max);
// An existing path that can be read: a file, or a directory when `directory_ok`.
CLI::Validator readable_path(bool directory_ok);

// load_tokenizer false: the weights and config only (see load_model_source).
ModelSource open_model(const ModelOptions& options, bool load_tokenizer = true);
// Threads and --matmul.
kernels::ExecContext make_context(const ModelOptions& options);

// The tokenizer of `source`; rethrows the error that kept it from being built, else throws
// InvalidArgument naming the model when there is none.
const Tokenizer& require_tokenizer(const ModelSource& source);

// The message of the error that kept the tokenizer of `source` from being built; "" if none.
std::string tokenizer_problem(const ModelSource& source);

// Checks an output directory before any work starts: reports (stderr) and removes stale
// temporaries that interrupted runs left beside it, then refuses with InvalidArgument naming
// --out an existing path unless it is an empty directory, or `is_ours(out)` (lowbit output of
// the kind this command writes, described by `what`) and `force` is set.
void check_output_directory(const std::string& out, bool force,
                            bool (*is_ours)(const std::filesystem::path&), const char* what);

// Prints `value` as indented JSON on stdout.
void print_json(const nlohmann::json& value);

// "12.3 MiB" style sizes.
std::string human_bytes(double bytes);

}  // namespace lowbit::cli
