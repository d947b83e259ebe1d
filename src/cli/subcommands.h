// SPDX-License-Identifier: MIT
// Each subcommand is a function that registers itself on the app and, when chosen, stores the
// action to run after parsing.
#pragma once

#include <functional>
#include <vector>

#include <CLI/CLI.hpp>

namespace lowbit::cli {

using AddSubcommand = void (*)(CLI::App& app, std::function<int()>& action);

void add_demo_command(CLI::App& app, std::function<int()>& action);
void add_quantize_command(CLI::App& app, std::function<int()>& action);
void add_eval_command(CLI::App& app, std::function<int()>& action);
void add_generate_command(CLI::App& app, std::function<int()>& action);
void add_inspect_command(CLI::App& app, std::function<int()>& action);
void add_schemes_command(CLI::App& app, std::function<int()>& action);
void add_recommend_command(CLI::App& app, std::function<int()>& action);
void add_synth_command(CLI::App& app, std::function<int()>& action);
void add_sweep_command(CLI::App& app, std::function<int()>& action);
void add_bench_command(CLI::App& app, std::function<int()>& action);
void add_outliers_command(CLI::App& app, std::function<int()>& action);

// The explicit list, in help order (defined in subcommands.cpp).
const std::vector<AddSubcommand>& subcommand_registry();

}  // namespace lowbit::cli
