// SPDX-License-Identifier: MIT
// KvLayerCache: storage, quantization on write and block dequantization on read of every
// KV-cache format (layouts in kernels/kv_format.h).
#include "kernels/kv_layer_cache.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/kv_codecs.h"
#include "kernels/cpu/kv_rows.h"
#include "numerics/fp8.h"
#include "numerics/half.h"
#include "util/check.h"

namespace lowbit::kernels {
namespace {

constexpr int64_t kBlockTokens = 64;

size_t sz(int64_t n) { return static_cast<size_t>(n); }

}  // namespace

KvLayerCache::KvLayerCache(const KvFormat& format, int64_t layer, int64_t max_positions,
                           int64_t n_kv_heads, int64_t head_dim)
    : dtype_(format.dtype),
      max_positions_(max_positions),
      n_kv_heads_(n_kv_heads),
      head_dim_(head_dim) {
  LB_CHECK(max_positions > 0 && n_kv_heads > 0 && head_dim > 0 && head_dim % 2 == 0,
           "kv cache: bad shape ", max_positions, " positions x ", n_kv_heads, " heads x ",
           head_dim);
  validate_kv_format(format);
  const int64_t row = kv_dim();
  const int64_t cells = max_positions * row;
  const int64_t token_pairs = n_kv_heads * (head_dim / kv_int4_channel_group(head_dim));
  for (Side side : {Side::keys, Side::values}) {
    Storage& s = storage(side);
    switch (dtype_) {
      case KvDtype::f32:
        s.f32.assign(sz(cells), 0.0f);
        break;
      case KvDtype::f16:
      case KvDtype::bf16:
        s.halves.assign(sz(cells), 0);
        break;
      case KvDtype::int8:
        s.codes.assign(sz(cells), 0);
        s.params.assign(sz(max_positions * n_kv_heads), 0);
        break;
      case KvDtype::int4:
      case KvDtype::int4_naive: {
        s.codes.assign(sz(cells / 2), 0);
        const bool per_channel = dtype_ == KvDtype::int4 && side == Side::keys;
        const int64_t groups = (max_positions + kKvGroupTokens - 1) / kKvGroupTokens;
        s.params.assign(sz(per_channel ? groups * row * 2 : max_positions * token_pairs * 2), 0);
        if (dtype_ == KvDtype::int4) s.window.assign(sz(format.residual * row), 0);
        break;
      }
      case KvDtype::fp8:
      case KvDtype::fp8_e5m2:
        s.codes.assign(sz(cells), 0);
        break;
    }
  }
  if (dtype_ == KvDtype::int4) residual_ = format.residual;
  if (dtype_ == KvDtype::fp8 && !format.key_scales.empty()) {
    LB_CHECK_ARG(layer >= 0 && layer < static_cast<int64_t>(format.key_scales.size()),
                 "kv cache: no calibrated fp8 scale for layer ", layer, " (",
                 format.key_scales.size(), " given)");
    key_scale_ = format.key_scales[sz(layer)];
    value_scale_ = format.value_scales[sz(layer)];
    scales_fixed_ = true;
  }
}

int64_t KvLayerCache::bytes() const {
  int64_t total = dtype_ == KvDtype::fp8 ? 2 * static_cast<int64_t>(sizeof(float)) : 0;
  for (const Storage* s : {&keys_, &values_})
    total += static_cast<int64_t>(s->f32.size() * sizeof(float) + s->halves.size() * 2 +
                                  s->codes.size() + s->params.size() * 2 + s->window.size() * 2);
  return total;
}

int64_t KvLayerCache::block_tokens() const {
  return dtype_ == KvDtype::f32 ? max_positions_ : kBlockTokens;
}

void KvLayerCache::write(int64_t start_pos, int64_t n, const float* keys, const float* values,
                         int64_t stride) {
  LB_CHECK(keys != nullptr && values != nullptr && n > 0 && stride >= kv_dim(),
           "kv cache write: bad arguments");
  LB_CHECK(start_pos >= 0 && start_pos <= length_, "kv cache: writing position ", start_pos,
           " after only ", length_, " stored");
  LB_CHECK(start_pos + n <= max_positions_, "kv cache: positions ", start_pos, "..",
           start_pos + n - 1, " exceed the context of ", max_positions_);
  if (start_pos < quantized_end_) {
    LB_CHECK_AS(Unsupported, start_pos % residual_ == 0, "kv cache int4: cannot rewrite position ",
                start_pos, " inside a quantized group");
    quantized_end_ = start_pos;
  }
  length_ = start_pos;
  if (dtype_ == KvDtype::fp8 && start_pos == 0 && !scales_fixed_) {
    // Dynamic scales: amax / 448 over this first write of the sequence.
    float k_max = 0.0f, v_max = 0.0f;
    for (int64_t r = 0; r < n; ++r)
      for (int64_t i = 0; i < kv_dim(); ++i) {
        k_max = std::max(k_max, std::fabs(keys[r * stride + i]));
        v_max = std::max(v_max, std::fabs(values[r * stride + i]));
      }
    key_scale_ = k_max > 0.0f && std::isfinite(k_max) ? k_max / kE4M3Max : 1.0f;
    value_scale_ = v_max > 0.0f && std::isfinite(v_max) ? v_max / kE4M3Max : 1.0f;
  }
  for (int64_t r = 0; r < n; ++r) {
    const int64_t pos = start_pos + r;
    if (dtype_ == KvDtype::int4) {
      // KIVI: the row waits in the f16 window until `residual_` rows are there.
      const int64_t slot = pos - quantized_end_;
      uint16_t* kw = keys_.window.data() + slot * kv_dim();
      uint16_t* vw = values_.window.data() + slot * kv_dim();
      for (int64_t i = 0; i < kv_dim(); ++i) {
        kw[i] = f32_to_f16(keys[r * stride + i]);
        vw[i] = f32_to_f16(values[r * stride + i]);
      }
      length_ = pos + 1;
      if (slot + 1 == residual_) flush_window();
    } else {
      store_row(Side::keys, pos, keys + r * stride);
      store_row(Side::values, pos, values + r * stride);
      length_ = pos + 1;
    }
  }
}

void KvLayerCache::store_row(Side side, int64_t pos, const float* row) {
  Storage& s = storage(side);
  const int64_t width = kv_dim();
  const int64_t base = pos * width;
  switch (dtype_) {
    case KvDtype::f32:
      std::copy(row, row + width, s.f32.begin() + base);
      return;
    case KvDtype::f16:
      for (int64_t i = 0; i < width; ++i) s.halves[sz(base + i)] = f32_to_f16(row[i]);
      return;
    case KvDtype::bf16:
      for (int64_t i = 0; i < width; ++i) s.halves[sz(base + i)] = f32_to_bf16(row[i]);
      return;
    case KvDtype::int8:
      for (int64_t h = 0; h < n_kv_heads_; ++h) {
        const float* x = row + h * head_dim_;
        float amax = 0.0f;
        for (int64_t c = 0; c < head_dim_; ++c) amax = std::max(amax, std::fabs(x[c]));
        uint16_t& scale_bits = s.params[sz(pos * n_kv_heads_ + h)];
        scale_bits = f32_to_f16(amax / 127.0f);
        const float scale = f16_to_f32(scale_bits);
        auto* codes = reinterpret_cast<int8_t*>(s.codes.data() + base + h * head_dim_);
        const float inv = scale > 0.0f && std::isfinite(scale) ? 1.0f / scale : 0.0f;
        for (int64_t c = 0; c < head_dim_; ++c)
          codes[c] = static_cast<int8_t>(std::clamp(std::nearbyint(x[c] * inv), -127.0f, 127.0f));
      }
      return;
    case KvDtype::int4:
    case KvDtype::int4_naive: {
      // Per token: (scale, min) per group of channels.
      const int64_t group = kv_int4_channel_group(head_dim_);
      const int64_t groups = width / group;
      // Groups are 32 channels, or a whole head when head_dim is not a multiple of 32.
      thread_local std::vector<uint8_t> codes;
      codes.resize(sz(group));
      for (int64_t g = 0; g < groups; ++g) {
        uint16_t* pair = s.params.data() + (pos * groups + g) * 2;
        cpu::quantize_int4(row + g * group, group, 1, codes.data(), pair);
        cpu::pack_nibbles(codes.data(), group, s.codes.data() + (base + g * group) / 2);
      }
      return;
    }
    case KvDtype::fp8: {
      const float inv = 1.0f / (side == Side::keys ? key_scale_ : value_scale_);
      for (int64_t i = 0; i < width; ++i) s.codes[sz(base + i)] = f32_to_e4m3(row[i] * inv);
      return;
    }
    case KvDtype::fp8_e5m2:
      for (int64_t i = 0; i < width; ++i) s.codes[sz(base + i)] = f32_to_e5m2(row[i]);
      return;
  }
}

void KvLayerCache::flush_window() {
  const int64_t width = kv_dim();
  const float* f16 = cpu::f16_table();
  std::vector<float> rows(sz(residual_ * width));
  // Values: per token, as int4-naive stores them.
  for (int64_t i = 0; i < residual_ * width; ++i) rows[sz(i)] = f16[values_.window[sz(i)]];
  for (int64_t t = 0; t < residual_; ++t)
    store_row(Side::values, quantized_end_ + t, rows.data() + t * width);
  // Keys: per channel over each group of 32 tokens.
  for (int64_t i = 0; i < residual_ * width; ++i) rows[sz(i)] = f16[keys_.window[sz(i)]];
  std::vector<uint8_t> codes(sz(kKvGroupTokens * width));
  for (int64_t t0 = 0; t0 < residual_; t0 += kKvGroupTokens) {
    const int64_t group = (quantized_end_ + t0) / kKvGroupTokens;
    for (int64_t c = 0; c < width; ++c) {
      // codes[t * width + c]: token-major, ready to pack along channels.
      uint8_t column[kKvGroupTokens];
      cpu::quantize_int4(rows.data() + t0 * width + c, kKvGroupTokens, width, column,
                         keys_.params.data() + (group * width + c) * 2);
      for (int64_t t = 0; t < kKvGroupTokens; ++t) codes[sz(t * width + c)] = column[t];
    }
    for (int64_t t = 0; t < kKvGroupTokens; ++t)
      cpu::pack_nibbles(codes.data() + t * width, width,
                        keys_.codes.data() + (quantized_end_ + t0 + t) * width / 2);
  }
  quantized_end_ += residual_;
}

const float* KvLayerCache::read_keys(int64_t t0, int64_t n, int64_t c0, int64_t width,
                                     float* scratch, int64_t* ld, Isa isa) const {
  return read(Side::keys, t0, n, c0, width, scratch, ld, isa);
}

const float* KvLayerCache::read_values(int64_t t0, int64_t n, int64_t c0, int64_t width,
                                       float* scratch, int64_t* ld, Isa isa) const {
  return read(Side::values, t0, n, c0, width, scratch, ld, isa);
}

const float* KvLayerCache::read(Side side, int64_t t0, int64_t n, int64_t c0, int64_t width,
                                float* scratch, int64_t* ld, Isa isa) const {
  const int64_t row = kv_dim();
  LB_DCHECK(t0 >= 0 && n > 0 && t0 + n <= length_ && n <= block_tokens());
  LB_DCHECK(c0 >= 0 && width > 0 && c0 + width <= row);
  const Storage& s = storage(side);
  if (dtype_ == KvDtype::f32) {
    *ld = row;
    return s.f32.data() + t0 * row + c0;
  }
  *ld = width;
  const cpu::KvRowDecoders& decode = cpu::kv_row_decoders(isa);
  const float* f16 = cpu::f16_table();
  switch (dtype_) {
    case KvDtype::f16:
    case KvDtype::bf16: {
      const auto row_decoder = dtype_ == KvDtype::f16 ? decode.f16 : decode.bf16;
      for (int64_t t = 0; t < n; ++t)
        row_decoder(s.halves.data() + (t0 + t) * row + c0, width, scratch + t * width);
      break;
    }
    case KvDtype::fp8:
      for (int64_t t = 0; t < n; ++t)
        decode.e4m3(s.codes.data() + (t0 + t) * row + c0, width,
                    side == Side::keys ? key_scale_ : value_scale_, scratch + t * width);
      break;
    case KvDtype::fp8_e5m2:
      for (int64_t t = 0; t < n; ++t)
        decode.e5m2(s.codes.data() + (t0 + t) * row + c0, width, scratch + t * width);
      break;
    case KvDtype::int8: {
      LB_CHECK(c0 % head_dim_ == 0 && width == head_dim_, "kv cache int8: reads whole heads");
      const int64_t h = c0 / head_dim_;
      for (int64_t t = 0; t < n; ++t) {
        const int64_t pos = t0 + t;
        decode.int8(reinterpret_cast<const int8_t*>(s.codes.data() + pos * row + c0), width,
                    f16[s.params[sz(pos * n_kv_heads_ + h)]], scratch + t * width);
      }
      break;
    }
    case KvDtype::int4:
    case KvDtype::int4_naive: {
      LB_CHECK(c0 % head_dim_ == 0 && width == head_dim_, "kv cache int4: reads whole heads");
      const bool per_channel = dtype_ == KvDtype::int4 && side == Side::keys;
      const int64_t group = kv_int4_channel_group(head_dim_);
      const int64_t groups = row / group;
      // Per-channel keys: the f32 (scale, min) of each channel of the current token group,
      // decoded once per group rather than once per token.
      thread_local std::vector<float> channel_params;
      int64_t params_group = -1;
      for (int64_t t = 0; t < n; ++t) {
        const int64_t pos = t0 + t;
        float* out = scratch + t * width;
        if (dtype_ == KvDtype::int4 && pos >= quantized_end_) {
          decode.f16(s.window.data() + (pos - quantized_end_) * row + c0, width, out);
          continue;
        }
        const uint8_t* packed = s.codes.data() + (pos * row + c0) / 2;
        if (per_channel) {
          if (pos / kKvGroupTokens != params_group) {
            params_group = pos / kKvGroupTokens;
            channel_params.resize(sz(2 * width));
            const uint16_t* pairs = s.params.data() + (params_group * row + c0) * 2;
            for (int64_t i = 0; i < width; ++i) {
              channel_params[sz(i)] = f16[pairs[2 * i]];
              channel_params[sz(width + i)] = f16[pairs[2 * i + 1]];
            }
          }
          decode.int4_channels(packed, width, channel_params.data(), channel_params.data() + width,
                               out);
        } else {
          for (int64_t g0 = 0; g0 < width; g0 += group) {
            const uint16_t* pair = s.params.data() + (pos * groups + (c0 + g0) / group) * 2;
            decode.int4_group(packed + g0 / 2, group, f16[pair[0]], f16[pair[1]], out + g0);
          }
        }
      }
      break;
    }
    case KvDtype::f32:
      break;
  }
  return scratch;
}

}  // namespace lowbit::kernels
