// SPDX-License-Identifier: MIT
// Locating ../shared/data for tests that need real models and text.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace lowbit::testing {

// The shared data folder: $LOWBIT_DATA_DIR, else ../shared/data beside the checkout.
std::filesystem::path data_dir();

// Path of a file under the data folder; the calling test is skipped when it is absent.
#define LB_REQUIRE_DATA(var, relative)                                                   \
  const std::filesystem::path var = ::lowbit::testing::data_dir() / (relative);          \
  if (!std::filesystem::exists(var)) GTEST_SKIP() << "shared data missing: " << var.string()

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

}  // namespace lowbit::testing
