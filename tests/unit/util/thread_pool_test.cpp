// SPDX-License-Identifier: MIT
// ThreadPool::parallel_for: every index exactly once, any thread count, exceptions rethrown,
// and the pool reusable after an exception.
#include "util/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace lowbit {
namespace {

TEST(ThreadPool, EveryIndexRunsExactlyOnce) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int64_t grain : {1, 7, 1000}) {
      std::vector<std::atomic<int>> hits(1001);
      pool.parallel_for(0, 1001, grain, [&](int64_t b, int64_t e) {
        ASSERT_LE(b, e);
        for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;
      });
      for (size_t i = 0; i < hits.size(); ++i)
        ASSERT_EQ(hits[i].load(), 1) << "index " << i << ", threads " << threads;
    }
  }
}

TEST(ThreadPool, EmptyAndOffsetRanges) {
  ThreadPool pool(4);
  int calls = 0;
  pool.parallel_for(5, 5, 1, [&](int64_t, int64_t) { ++calls; });
  EXPECT_EQ(calls, 0);
  std::atomic<int64_t> sum{0};
  pool.parallel_for(10, 20, 3, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) sum += i;
  });
  EXPECT_EQ(sum.load(), 145);
}

TEST(ThreadPool, ExceptionIsRethrownAndThePoolStillWorks) {
  ThreadPool pool(4);
  EXPECT_THROW(pool.parallel_for(0, 100, 1,
                                 [](int64_t b, int64_t e) {
                                   if (b <= 37 && 37 < e) throw std::runtime_error("index 37");
                                 }),
               std::runtime_error);
  std::atomic<int> n{0};
  pool.parallel_for(0, 100, 1, [&](int64_t b, int64_t e) { n += static_cast<int>(e - b); });
  EXPECT_EQ(n.load(), 100);
}

TEST(ThreadPool, UsesMoreThanOneThreadWhenAsked) {
  ThreadPool pool(4);
  std::mutex m;
  std::set<std::thread::id> ids;
  pool.parallel_for(0, 64, 1, [&](int64_t, int64_t) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    std::lock_guard lock(m);
    ids.insert(std::this_thread::get_id());
  });
  EXPECT_GT(ids.size(), 1u);
}

// Decode's pattern: thousands of tiny jobs back to back (workers still spinning), then pauses
// long enough for them to fall asleep, with oversubscription (more threads than cores) and an
// exception now and then. Every index must run exactly once in every job.
TEST(ThreadPool, ManySmallJobsAcrossSpinAndSleep) {
  for (int threads : {2, 3, 8}) {
    ThreadPool pool(threads);
    std::vector<std::atomic<int>> hits(64);
    for (int round = 0; round < 6; ++round) {
      for (int job = 0; job < 2000; ++job) {
        const int64_t n = 1 + job % 64;
        pool.parallel_for(0, n, 1, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
        });
        for (int64_t i = 0; i < 64; ++i) {
          ASSERT_EQ(hits[static_cast<size_t>(i)].exchange(0), i < n ? 1 : 0)
              << threads << " threads, job " << job << ", index " << i;
        }
        if (job % 500 == 7) {
          EXPECT_THROW(pool.parallel_for(0, 16, 1,
                                         [](int64_t b, int64_t e) {
                                           if (b <= 5 && 5 < e) throw std::runtime_error("5");
                                         }),
                       std::runtime_error);
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(round * 20));
    }
  }
}

}  // namespace
}  // namespace lowbit
