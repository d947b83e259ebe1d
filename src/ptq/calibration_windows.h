// SPDX-License-Identifier: MIT
// Calibration token windows: `samples` windows of `seq_len` consecutive tokens at start
// positions drawn from a fixed-seed generator, as GPTQ's reference samples its calibration
// set. Deterministic for the same tokens, sizes and seed. No network, ever: the text is a
// local file given with --calib.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace lowbit::ptq {

// Throws InvalidArgument naming --calib when the text has fewer than seq_len tokens, and for
// samples or seq_len below 1. Windows may overlap when the text is short.
std::vector<std::vector<int32_t>> calibration_windows(std::span<const int32_t> tokens,
                                                      int64_t samples, int64_t seq_len,
                                                      uint64_t seed);

}  // namespace lowbit::ptq
