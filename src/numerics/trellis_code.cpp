// SPDX-License-Identifier: MIT
#include "numerics/trellis_code.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <mutex>
#include <vector>

namespace lowbit {

float trellis_value(uint32_t state) {
  // murmur3's 32-bit finalizer: every state bit reaches every output byte.
  uint32_t x = state * 0x9E3779B1u + 0x7F4A7C15u;
  x ^= x >> 16;
  x *= 0x85EBCA6Bu;
  x ^= x >> 13;
  x *= 0xC2B2AE35u;
  x ^= x >> 16;
  const int sum =
      static_cast<int>((x & 0xFFu) + ((x >> 8) & 0xFFu) + ((x >> 16) & 0xFFu) + (x >> 24));
  // Four uniform bytes: mean 510, variance 4 · (256^2 - 1) / 12 = 21845.
  constexpr float kInvSigma = 1.0f / 147.80054f;
  return static_cast<float>(sum - 510) * kInvSigma;
}

const float* trellis_codebook(int state_bits) {
  // Up to 24 bits: the encoder (quant/trellis.h) searches that far, formats store up to 16.
  static std::array<std::vector<float>, 25> tables;
  static std::array<std::once_flag, 25> built;
  const auto l = static_cast<size_t>(state_bits);
  std::call_once(built.at(l), [&] {
    tables[l].resize(size_t{1} << l);
    for (uint32_t s = 0; s < (uint32_t{1} << l); ++s) tables[l][s] = trellis_value(s);
  });
  return tables[l].data();
}

void trellis_write_stream(const uint32_t* states, int64_t n, int bits, int state_bits,
                          uint8_t* stream) {
  std::memset(stream, 0, static_cast<size_t>(trellis_stream_bytes(n, bits, state_bits)));
  int64_t at = 0;
  auto put = [&](uint32_t value, int width) {
    for (int i = width - 1; i >= 0; --i, ++at)
      if (((value >> i) & 1u) != 0u) stream[at / 8] |= static_cast<uint8_t>(0x80u >> (at % 8));
  };
  put(states[0], state_bits);
  for (int64_t t = 1; t < n; ++t) put(states[t] & ((uint32_t{1} << bits) - 1u), bits);
}

int64_t trellis_codes_bytes(int64_t rows, int64_t cols, int bits, int state_bits) {
  const int64_t full = rows / kTrellisRun, rest = rows % kTrellisRun;
  int64_t bytes = full * cols * trellis_stream_bytes(kTrellisRun, bits, state_bits);
  if (rest > 0) bytes += cols * trellis_stream_bytes(rest, bits, state_bits);
  return bytes;
}

int64_t trellis_stream_offset(int64_t rows, int64_t cols, int bits, int state_bits, int64_t run,
                              int64_t col) {
  const int64_t n = std::min(kTrellisRun, rows - run * kTrellisRun);
  return run * cols * trellis_stream_bytes(kTrellisRun, bits, state_bits) +
         col * trellis_stream_bytes(n, bits, state_bits);
}

}  // namespace lowbit
