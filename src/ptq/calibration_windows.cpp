// SPDX-License-Identifier: MIT
#include "ptq/calibration_windows.h"

#include <algorithm>

#include "util/check.h"
#include "util/splitmix.h"

namespace lowbit::ptq {

std::vector<std::vector<int32_t>> calibration_windows(std::span<const int32_t> tokens,
                                                      int64_t samples, int64_t seq_len,
                                                      uint64_t seed, int32_t bos_id) {
  LB_CHECK_ARG(samples >= 1, "--calib-samples must be at least 1, got ", samples);
  LB_CHECK_ARG(seq_len >= 1, "--calib-seq-len must be at least 1, got ", seq_len);
  const auto n = static_cast<int64_t>(tokens.size());
  const int64_t lead = bos_id >= 0 ? 1 : 0;  // the BOS slot
  const int64_t text_len = seq_len - lead;
  LB_CHECK_ARG(n >= std::max<int64_t>(1, text_len), "--calib: the text has ", n,
               " tokens, fewer than one window of ", seq_len, " (--calib-seq-len)");
  const auto starts = static_cast<uint64_t>(n - text_len + 1);
  uint64_t state = seed;
  std::vector<std::vector<int32_t>> windows;
  windows.reserve(static_cast<size_t>(samples));
  for (int64_t i = 0; i < samples; ++i) {
    // The modulo bias is below starts / 2^64: irrelevant for a calibration sample.
    const auto start = static_cast<int64_t>(splitmix64_next(state) % starts);
    std::vector<int32_t> window;
    window.reserve(static_cast<size_t>(seq_len));
    if (lead) window.push_back(bos_id);
    window.insert(window.end(), tokens.begin() + start, tokens.begin() + start + text_len);
    windows.push_back(std::move(window));
  }
  return windows;
}

}  // namespace lowbit::ptq
