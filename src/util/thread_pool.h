// SPDX-License-Identifier: MIT
// A fixed-size pool of worker threads and parallel_for, the only parallel construct in lowbit.
// Determinism: parallel_for hands each index range to exactly one task and callers write each
// output element from one task only, so results do not depend on the thread count.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace lowbit {

class ThreadPool {
 public:
  // threads <= 0 means one per hardware thread.
  explicit ThreadPool(int threads = 1);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs fn(range_begin, range_end) over [begin, end) split into chunks of at least `grain`
  // indices, on all threads including the caller. Rethrows the first exception thrown by fn.
  // Not re-entrant: fn must not call parallel_for on the same pool.
  void parallel_for(int64_t begin, int64_t end, int64_t grain,
                    const std::function<void(int64_t, int64_t)>& fn);

 private:
  void worker_loop();
  void run_chunks();

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  bool stop_ = false;
  uint64_t generation_ = 0;
  int active_ = 0;
  // The job being run.
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_begin_ = 0, job_end_ = 0, job_chunk_ = 1, next_chunk_ = 0, n_chunks_ = 0;
  std::exception_ptr error_;
};

}  // namespace lowbit
