// SPDX-License-Identifier: MIT
// The machine's streaming read bandwidth, for tools/compare_llamacpp.sh: every thread sums its
// slice of a 1 GiB buffer (no copy, so only reads), best of 5 passes. A tool, not part of the
// product. Usage: read_bandwidth THREADS
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

// Where the sums go, so no pass can be dropped as dead code.
volatile uint64_t sink = 0;

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::max(1, std::atoi(argv[1])) : 1;
  const size_t n = (size_t{1} << 30) / sizeof(uint64_t);
  std::vector<uint64_t> buffer(n);
  for (size_t i = 0; i < n; ++i) buffer[i] = i;
  std::vector<uint64_t> sums(static_cast<size_t>(threads));
  double best = 0;
  for (int pass = 0; pass < 5; ++pass) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        const size_t begin = n / threads * t, end = t + 1 == threads ? n : n / threads * (t + 1);
        // Eight independent sums: the compiler vectorizes them, so the loop waits on memory.
        uint64_t lanes[8] = {};
        for (size_t i = begin; i + 8 <= end; i += 8)
          for (size_t j = 0; j < 8; ++j) lanes[j] += buffer[i + j];
        uint64_t total = 0;
        for (uint64_t v : lanes) total += v;
        sums[static_cast<size_t>(t)] = total;
      });
    for (auto& th : pool) th.join();
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, static_cast<double>(n * sizeof(uint64_t)) / s / 1e9);
  }
  uint64_t total = 0;
  for (uint64_t s : sums) total += s;
  sink = total;
  std::printf("%.2f\n", best);
  return 0;
}
