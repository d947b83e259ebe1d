// SPDX-License-Identifier: MIT
// A fixed-size pool of worker threads and parallel_for, the only parallel construct in lowbit.
// Determinism: parallel_for hands each index range to exactly one task and callers write each
// output element from one task only, so results do not depend on the thread count.
//
// Decode calls parallel_for hundreds of times per token, so a job is handed over without locks:
// workers spin on the job counter for a short while after each job (a few tens of microseconds,
// with pause, then yielding) and only then sleep on a condition variable; the caller wakes
// sleepers only when there are any. A core that is busy with other work therefore costs a
// sleeping worker, never a spinning one that holds up the job.
#pragma once

#include <atomic>
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
  // Not re-entrant: fn must not call parallel_for on the same pool, and one thread at a time
  // may call it.
  void parallel_for(int64_t begin, int64_t end, int64_t grain,
                    const std::function<void(int64_t, int64_t)>& fn);

 private:
  void worker_loop();
  // Claims and runs chunks of the open job until none is left.
  void run_chunks();
  // Waits for generation_ to move past `seen` to an open job (or stop_); false on stop.
  bool wait_for_job(uint64_t seen);

  std::vector<std::thread> workers_;
  // generation_ is even while a job is open (its chunks may be claimed) and odd once the
  // caller has closed it; workers enter a job by raising in_job_ and checking generation_
  // again, and the caller writes the next job only after closing this one and seeing
  // in_job_ == 0 (both sides sequentially consistent, so one of them sees the other).
  std::atomic<uint64_t> generation_{1};
  std::atomic<int> in_job_{0};
  std::atomic<int64_t> next_chunk_{0};
  std::atomic<int64_t> done_chunks_{0};
  std::atomic<bool> failed_{false};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  std::mutex mutex_;  // sleeping, waking and the first error
  std::condition_variable wake_;
  // The job: written by the caller while no worker is in a job.
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_begin_ = 0, job_end_ = 0, job_chunk_ = 1, n_chunks_ = 0;
  std::exception_ptr error_;
};

}  // namespace lowbit
