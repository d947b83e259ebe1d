// SPDX-License-Identifier: MIT
// Locating ../shared/data for tests that need real models and text.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace lowbit::testing {

// The shared data folder: $LOWBIT_DATA_DIR, else ../shared/data beside the checkout.
std::filesystem::path data_dir();

// True when LOWBIT_REQUIRE_DATA=1 (set by .ci/run): missing shared data is then a failure.
bool data_required();

// Path of a file under the data folder; the calling test is skipped when it is absent (a
// user's fresh clone), or fails when LOWBIT_REQUIRE_DATA=1 (CI).
#define LB_REQUIRE_DATA(var, relative)                                                         \
  const std::filesystem::path var = ::lowbit::testing::data_dir() / (relative);                \
  if (!std::filesystem::exists(var)) {                                                         \
    if (::lowbit::testing::data_required()) FAIL() << "shared data missing: " << var.string(); \
    GTEST_SKIP() << "shared data missing: " << var.string();                                   \
  }

// A fresh empty temporary directory, removed at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Runs the lowbit binary with `args` (a shell-quoted string); returns the exit code and
// captures stdout / stderr.
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
CommandResult run_lowbit(const std::string& args);

// Expects exit `code`, exactly one line on stderr containing `needle`, and nothing on stdout.
void expect_one_line_error(const CommandResult& r, int code, const std::string& needle);

// Writes `bytes` to `path` (binary).
void write_bytes(const std::filesystem::path& path, const std::string& bytes);

}  // namespace lowbit::testing
