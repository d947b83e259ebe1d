// SPDX-License-Identifier: MIT
// Implementation of ThreadPool: lock-free hand-over, spin-then-sleep workers (see the header).
#include "util/thread_pool.h"

#include <algorithm>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace lowbit {

namespace {

// Spin iterations before yielding, and before sleeping: with pause at about 10-70 cycles each,
// a worker stays awake some tens of microseconds after a job, enough to catch the next linear
// of a decode step, and then gets out of the way.
constexpr int kPauseSpins = 2000;
constexpr int kYieldSpins = 50;

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

// Spins (pause, then yield) until pred() holds or the budget runs out; returns pred().
template <typename Pred>
bool spin_until(Pred pred) {
  for (int i = 0; i < kPauseSpins; ++i) {
    if (pred()) return true;
    cpu_relax();
  }
  for (int i = 0; i < kYieldSpins; ++i) {
    if (pred()) return true;
    std::this_thread::yield();
  }
  return pred();
}

}  // namespace

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_chunks() {
  while (true) {
    const int64_t chunk = next_chunk_.fetch_add(1);
    if (chunk >= n_chunks_) return;
    if (!failed_.load(std::memory_order_relaxed)) {
      const int64_t b = job_begin_ + chunk * job_chunk_;
      const int64_t e = std::min(job_end_, b + job_chunk_);
      try {
        (*job_)(b, e);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error_) error_ = std::current_exception();
        failed_.store(true);
      }
    }
    done_chunks_.fetch_add(1, std::memory_order_acq_rel);
  }
}

bool ThreadPool::wait_for_job(uint64_t seen) {
  auto ready = [&] {
    const uint64_t g = generation_.load();
    return stop_.load() || (g != seen && g % 2 == 0);
  };
  if (spin_until(ready)) return !stop_.load();
  std::unique_lock<std::mutex> lock(mutex_);
  sleepers_.fetch_add(1);
  wake_.wait(lock, ready);
  sleepers_.fetch_sub(1);
  return !stop_.load();
}

void ThreadPool::worker_loop() {
  uint64_t seen = 1;
  while (wait_for_job(seen)) {
    const uint64_t g = generation_.load();
    if (g % 2 != 0) continue;  // closed again before we looked
    in_job_.fetch_add(1);
    // The caller may have closed the job (and may be about to write the next one) between
    // the two loads; then it waits for in_job_ to drop before writing.
    if (generation_.load() == g) {
      seen = g;
      run_chunks();
    }
    in_job_.fetch_sub(1);
  }
}

void ThreadPool::parallel_for(int64_t begin, int64_t end, int64_t grain,
                              const std::function<void(int64_t, int64_t)>& fn) {
  if (end <= begin) return;
  grain = std::max<int64_t>(1, grain);
  const int64_t n = end - begin;
  const int threads = size();
  if (threads == 1 || n <= grain) {
    fn(begin, end);
    return;
  }
  // About 4 chunks per thread balances load without making chunks tiny.
  const int64_t chunk = std::max(grain, (n + threads * 4 - 1) / (threads * 4));
  // No worker is in a job here (the last call waited for that), so the job can be written.
  job_ = &fn;
  job_begin_ = begin;
  job_end_ = end;
  job_chunk_ = chunk;
  n_chunks_ = (n + chunk - 1) / chunk;
  next_chunk_.store(0);
  done_chunks_.store(0);
  failed_.store(false);
  generation_.fetch_add(1);  // odd -> even: open
  if (sleepers_.load() > 0) {
    std::lock_guard<std::mutex> lock(mutex_);
    wake_.notify_all();
  }
  run_chunks();
  auto all_done = [&] { return done_chunks_.load(std::memory_order_acquire) == n_chunks_; };
  while (!spin_until(all_done)) {
  }
  generation_.fetch_add(1);  // even -> odd: closed
  auto none_inside = [&] { return in_job_.load() == 0; };
  while (!spin_until(none_inside)) {
  }
  job_ = nullptr;
  if (failed_.load()) {
    std::exception_ptr error;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      error = error_;
      error_ = nullptr;
    }
    std::rethrow_exception(error);
  }
}

}  // namespace lowbit
