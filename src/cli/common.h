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
};

// --model (required), --tokenizer, --threads.
void add_model_options(CLI::App* cmd, ModelOptions& options);

struct SchemeOptions {
  std::string scheme;
  int bits = 0;  // 0 = not given
  int group_size = 128;
  bool symmetric = false;
};

// --scheme, or --bits/--group-size/--symmetric to compose one.
void add_scheme_options(CLI::App* cmd, SchemeOptions& options);
// The chosen scheme, or nullopt when neither --scheme nor --bits was given.
std::optional<quant::Scheme> resolve_scheme(const SchemeOptions& options);

// --head SCHEME and --embed SCHEME: the output head and the token embedding.
struct TargetOptions {
  std::string head;
  std::string embed;
};
void add_target_options(CLI::App* cmd, TargetOptions& options);
// Everything to quantize; empty() when no scheme, --head or --embed was given.
ptq::QuantizeOptions resolve_quantize(const SchemeOptions& scheme, const TargetOptions& targets);

// load_tokenizer false: the weights and config only (see load_model_source).
ModelSource open_model(const ModelOptions& options, bool load_tokenizer = true);
kernels::ExecContext make_context(const ModelOptions& options);

// The tokenizer of `source`; rethrows the error that kept it from being built, else throws
// InvalidArgument naming the model when there is none.
const Tokenizer& require_tokenizer(const ModelSource& source);

// The message of the error that kept the tokenizer of `source` from being built; "" if none.
std::string tokenizer_problem(const ModelSource& source);

// Prints `value` as indented JSON on stdout.
void print_json(const nlohmann::json& value);

// "12.3 MiB" style sizes.
std::string human_bytes(double bytes);

}  // namespace lowbit::cli
