// SPDX-License-Identifier: MIT
// Short measurements of this machine for the `cpu` hardware entry: streaming read bandwidth,
// fp32 matmul throughput and physical memory.
#pragma once

#include <cstddef>

namespace lowbit::advisor {

// Reads a buffer larger than the last-level cache on all hardware threads for about `seconds`
// and returns the best pass in bytes per second. `buffer_bytes` 0 picks 128 MiB, or 4x the L3
// size when that is larger (at most 1 GiB).
double measure_read_bandwidth(double seconds = 0.2, size_t buffer_bytes = 0);

// Runs 512^3 sgemm (OpenBLAS, its own threads) for about `seconds`; returns the best FLOP/s.
double measure_f32_matmul_flops(double seconds = 0.1);

// Installed physical memory in bytes (0 when the OS does not say).
double physical_memory_bytes();

}  // namespace lowbit::advisor
