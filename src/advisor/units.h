// SPDX-License-Identifier: MIT
// Number formatting shared by the advisor's reasons and report (GB = 10^9 bytes).
#pragma once

#include <cstdio>
#include <string>

namespace lowbit::advisor {

inline constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

// `value` with `digits` decimals.
inline std::string fixed(double value, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, value);
  return buf;
}

// "35.0 GB".
inline std::string gb(double bytes) { return fixed(bytes / 1e9, 1) + " GB"; }

}  // namespace lowbit::advisor
