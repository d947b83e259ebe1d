// SPDX-License-Identifier: MIT
// The lowbit subcommands. Each cmd_*.cpp adds one subcommand to the app; results go to stdout,
// logs to stderr.
#pragma once

#include <CLI/CLI.hpp>

namespace lowbit::cli {

// Parses argv and runs the chosen subcommand; returns the exit code.
int run(int argc, char** argv);

}  // namespace lowbit::cli
