// SPDX-License-Identifier: MIT
// Streaming-read bandwidth and sgemm throughput probes.
#include "advisor/cpu_probe.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

#include "numerics/linalg.h"
#include "util/thread_pool.h"
#include "util/timer.h"

namespace lowbit::advisor {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

size_t default_buffer_bytes() {
  size_t bytes = 128 * kMiB;
#ifdef _SC_LEVEL3_CACHE_SIZE
  const long l3 = ::sysconf(_SC_LEVEL3_CACHE_SIZE);
  if (l3 > 0) bytes = std::max(bytes, 4 * static_cast<size_t>(l3));
#endif
  return std::min(bytes, 1024 * kMiB);
}

struct FreeDeleter {
  void operator()(uint64_t* p) const { std::free(p); }
};

// Sums `n` (a multiple of 4) words with four independent accumulators, so the loop is bound by
// loads.
uint64_t sum_chunk(const uint64_t* p, size_t n) {
  uint64_t a = 0, b = 0, c = 0, d = 0;
  for (const uint64_t* end = p + n; p != end; p += 4) {
    a += p[0];
    b += p[1];
    c += p[2];
    d += p[3];
  }
  return a + b + c + d;
}

}  // namespace

double measure_read_bandwidth(double seconds, size_t buffer_bytes) {
  if (buffer_bytes == 0) buffer_bytes = default_buffer_bytes();
  const size_t chunk = kMiB / sizeof(uint64_t);
  const size_t n = std::max(chunk, buffer_bytes / sizeof(uint64_t) / chunk * chunk);
  // 2 MiB aligned and, where the kernel allows, huge pages: first-touch page faults, not the
  // reads, dominate a short probe otherwise.
  constexpr size_t kAlign = 2 * kMiB;
  const size_t bytes = (n * sizeof(uint64_t) + kAlign - 1) / kAlign * kAlign;
  std::unique_ptr<uint64_t, FreeDeleter> buffer(
      static_cast<uint64_t*>(std::aligned_alloc(kAlign, bytes)));
  if (!buffer) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
  ::madvise(buffer.get(), bytes, MADV_HUGEPAGE);
#endif
  const int64_t n_chunks = static_cast<int64_t>(n / chunk);
  std::vector<uint64_t> partial(static_cast<size_t>(n_chunks));
  ThreadPool pool(static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 64u)));
  pool.parallel_for(0, n_chunks, 1, [&](int64_t begin, int64_t end) {
    for (size_t i = static_cast<size_t>(begin) * chunk; i < static_cast<size_t>(end) * chunk; ++i)
      buffer.get()[i] = i;  // touch every page before timing
  });
  double best = 0;
  uint64_t sink = 0;
  const Timer total;
  do {
    const Timer pass;
    pool.parallel_for(0, n_chunks, 1, [&](int64_t begin, int64_t end) {
      for (int64_t c = begin; c < end; ++c)
        partial[static_cast<size_t>(c)] = sum_chunk(buffer.get() + c * chunk, chunk);
    });
    const double t = pass.seconds();
    for (uint64_t s : partial) sink += s;
    if (t > 0) best = std::max(best, static_cast<double>(n * sizeof(uint64_t)) / t);
  } while (total.seconds() < seconds);
  // The sums feed a volatile store so the reads cannot be optimized away.
  volatile uint64_t keep = sink;
  (void)keep;
  return best;
}

double measure_f32_matmul_flops(double seconds) {
  constexpr int64_t kSize = 512;
  std::vector<float> a(kSize * kSize, 0.5f), b(kSize * kSize, 0.25f), c(kSize * kSize);
  double best = 0;
  const Timer total;
  do {
    const Timer call;
    sgemm_nt(kSize, kSize, kSize, a.data(), b.data(), c.data());
    const double t = call.seconds();
    if (t > 0) best = std::max(best, 2.0 * kSize * kSize * kSize / t);
  } while (total.seconds() < seconds);
  return best;
}

double physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page_size = ::sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return 0;
  return static_cast<double>(pages) * static_cast<double>(page_size);
}

}  // namespace lowbit::advisor
