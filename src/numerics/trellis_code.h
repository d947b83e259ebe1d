// SPDX-License-Identifier: MIT
// The bitshift trellis code's shared definitions: the computed codebook, the bit stream of one
// run and where each run lives in a tensor's codes. quant/trellis.h encodes (Viterbi),
// tensor/dequantize.h and the kernels decode. The format is QuantKind::trellis
// (tensor/quant_format.h; docs/FORMATS.md has the layout).
//
// A run of n values with k bits per value and L state bits is one bit stream of
// L + (n - 1)·k bits, written most significant bit first (stream bit i is bit 7 - i % 8 of
// byte i / 8), padded with zero bits to whole bytes. The state of value t is the L stream bits
// starting at bit t·k, read as a big-endian integer, so consecutive states overlap in L - k
// bits: s_t = ((s_{t-1} << k) | b_t) mod 2^L, b_t the stream's next k bits. Value t is
// row_scale · trellis_value(s_t).
#pragma once

#include <cstdint>

namespace lowbit {

// Rows per run: a weight column is coded as runs of at most this many rows.
inline constexpr int64_t kTrellisRun = 256;
// The seed of every trellis tensor's input rotation (numerics/rotation.h): the rotation
// depends only on the tensor's width.
inline constexpr uint64_t kTrellisRotationSeed = 0x7C3A91E5D2B4F608ull;
// Largest supported L: the encoder's work and memory grow as 2^L.
inline constexpr int kTrellisMaxStateBits = 16;
// The state bits of the tcq<k> schemes.
inline constexpr int kTrellisDefaultStateBits = 12;

// The codebook value of a state: a 32-bit hash of the state, the sum of its four bytes
// (nearly Gaussian: Irwin-Hall of 4 uniform bytes), centred and scaled to unit variance.
// Integer operations and one f32 multiply, so every machine decodes the same value.
float trellis_value(uint32_t state);

// trellis_value of every state of `state_bits` bits (2^state_bits floats, state_bits <= 24),
// built once per L (thread-safe); the encoder and the decoders look values up here.
const float* trellis_codebook(int state_bits);

// Bytes of one run's stream of n values.
inline int64_t trellis_stream_bytes(int64_t n, int bits, int state_bits) {
  return (state_bits + (n - 1) * bits + 7) / 8;
}

// The state of value t of the stream that starts at `stream`.
inline uint32_t trellis_state(const uint8_t* stream, int64_t t, int bits, int state_bits) {
  const int64_t bit = t * bits;
  const uint8_t* p = stream + bit / 8;
  const int offset = static_cast<int>(bit % 8);
  const int nbytes = (offset + state_bits + 7) / 8;
  uint32_t v = 0;
  for (int i = 0; i < nbytes; ++i) v = (v << 8) | p[i];
  return (v >> (nbytes * 8 - offset - state_bits)) & ((uint32_t{1} << state_bits) - 1u);
}

// The states of one stream in order, for decoders that walk a whole run: one byte read per 8
// stream bits instead of a window read per value.
class TrellisStreamReader {
 public:
  TrellisStreamReader(const uint8_t* stream, int bits, int state_bits)
      : p_(stream), bits_(bits), mask_((uint32_t{1} << state_bits) - 1u) {
    state_ = take(state_bits);
  }
  // The current state; advance() moves to the next value's (and reads its bits: call it only
  // while a value is left).
  uint32_t state() const { return state_; }
  void advance() { state_ = ((state_ << bits_) | take(bits_)) & mask_; }

 private:
  uint32_t take(int width) {
    while (held_ < width) {
      acc_ = (acc_ << 8) | *p_++;
      held_ += 8;
    }
    held_ -= width;
    return static_cast<uint32_t>(acc_ >> held_) & ((uint32_t{1} << width) - 1u);
  }
  const uint8_t* p_;
  int bits_;
  uint32_t mask_;
  uint64_t acc_ = 0;
  int held_ = 0;
  uint32_t state_ = 0;
};

// Writes the stream of the trellis walk states[0, n) (each state's high L - k bits equal the
// previous state's low L - k bits) to stream[0, trellis_stream_bytes(n)).
void trellis_write_stream(const uint32_t* states, int64_t n, int bits, int state_bits,
                          uint8_t* stream);

// The codes of a [rows, cols] trellis tensor: runs of rows [256·j, 256·j + 256) (the last one
// short), run j's column streams back to back in column order, runs back to back.
int64_t trellis_codes_bytes(int64_t rows, int64_t cols, int bits, int state_bits);
// Byte offset of the stream of run j, column c.
int64_t trellis_stream_offset(int64_t rows, int64_t cols, int bits, int state_bits, int64_t run,
                              int64_t col);

}  // namespace lowbit
