// SPDX-License-Identifier: MIT
// Logging to stderr (results go to stdout, so `lowbit ... | tee` stays clean).
#pragma once

#include <iostream>
#include <string>

#include "util/error.h"

namespace lowbit {

enum class LogLevel { quiet = 0, info = 1, debug = 2 };

// Process-wide verbosity, set once by the CLI before work starts.
LogLevel& log_level();

// Warnings print at every level (--quiet drops progress, not a notice that results may be off).
template <typename... Parts>
void log_warning(Parts&&... parts) {
  std::cerr << "warning: " << concat(std::forward<Parts>(parts)...) << '\n';
}

template <typename... Parts>
void log_info(Parts&&... parts) {
  if (log_level() >= LogLevel::info) std::cerr << concat(std::forward<Parts>(parts)...) << '\n';
}

template <typename... Parts>
void log_debug(Parts&&... parts) {
  if (log_level() >= LogLevel::debug) std::cerr << concat(std::forward<Parts>(parts)...) << '\n';
}

}  // namespace lowbit
