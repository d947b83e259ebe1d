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

// With bos_id >= 0 every window starts with that token, followed by seq_len - 1 text tokens:
// the model then sees calibration text as it sees text at inference (a sequence starts with
// BOS, and lowbit's evaluation puts BOS at each window start), including the attention sink
// that the first position becomes. GPTQ's and AWQ's reference code get the same from their
// tokenizers, which add BOS.
// Throws InvalidArgument naming --calib when the text has fewer tokens than one window needs,
// and for samples or seq_len below 1. Windows may overlap when the text is short.
std::vector<std::vector<int32_t>> calibration_windows(std::span<const int32_t> tokens,
                                                      int64_t samples, int64_t seq_len,
                                                      uint64_t seed, int32_t bos_id = -1);

}  // namespace lowbit::ptq
