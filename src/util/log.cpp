// SPDX-License-Identifier: MIT
// Storage for the process-wide log level.
#include "util/log.h"

namespace lowbit {

LogLevel& log_level() {
  static LogLevel level = LogLevel::info;
  return level;
}

}  // namespace lowbit
