// SPDX-License-Identifier: MIT
// ExecContext: the thread pool (and later device and scratch) passed down explicitly to kernels.
#pragma once

#include <memory>

#include "util/thread_pool.h"

namespace lowbit::kernels {

struct ExecContext {
  explicit ExecContext(int threads = 1) : pool(std::make_shared<ThreadPool>(threads)) {}
  std::shared_ptr<ThreadPool> pool;
  int threads() const { return pool->size(); }
};

}  // namespace lowbit::kernels
