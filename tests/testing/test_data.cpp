// SPDX-License-Identifier: MIT
// Implementation of the test data helpers.
#include "testing/test_data.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace lowbit::testing {
namespace fs = std::filesystem;

fs::path data_dir() {
  if (const char* env = std::getenv("LOWBIT_DATA_DIR"); env != nullptr && *env != '\0')
    return fs::path(env);
  return fs::path(LOWBIT_SOURCE_DIR) / ".." / "shared" / "data";
}

bool data_required() {
  const char* env = std::getenv("LOWBIT_REQUIRE_DATA");
  return env != nullptr && std::string(env) == "1";
}

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  path_ = fs::temp_directory_path() /
          ("lowbit_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  fs::remove_all(path_);
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

namespace {
std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}
}  // namespace

CommandResult run_lowbit(const std::string& args) {
  TempDir tmp;
  const fs::path out = tmp.path() / "out", err = tmp.path() / "err";
  const std::string cmd = std::string(LOWBIT_BINARY) + " " + args + " </dev/null >" + out.string() +
                          " 2>" + err.string();
  const int status = std::system(cmd.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

void expect_one_line_error(const CommandResult& r, int code, const std::string& needle) {
  EXPECT_EQ(r.exit_code, code) << r.err;
  int lines = 0;
  for (const char c : r.err) lines += c == '\n';
  EXPECT_EQ(lines, 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

}  // namespace lowbit::testing
