// SPDX-License-Identifier: MIT
// detect_isa: LOWBIT_ISA lowers the CPU's best Isa, never raises it, and refuses unknown names.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

#include "kernels/exec_context.h"
#include "util/error.h"

namespace lowbit::kernels {
namespace {

// Sets an environment variable for one scope, restoring the previous value.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(DetectIsa, HonoursLowbitIsaUpToWhatTheCpuHas) {
  Isa best;
  {
    ScopedEnv env("LOWBIT_ISA", "");
    best = detect_isa();
  }
  const std::pair<const char*, Isa> names[] = {
      {"scalar", Isa::scalar}, {"avx2", Isa::avx2}, {"avx512", Isa::avx512}};
  for (const auto& [name, isa] : names) {
    ScopedEnv env("LOWBIT_ISA", name);
    EXPECT_EQ(detect_isa(), std::min(isa, best)) << name;
    EXPECT_STREQ(isa_name(isa), name);
  }
  ScopedEnv env("LOWBIT_ISA", "avx1024");
  EXPECT_THROW(detect_isa(), InvalidArgument);
}

}  // namespace
}  // namespace lowbit::kernels
