// SPDX-License-Identifier: MIT
// KV-cache formats: how keys and values of one layer are stored, and the one rule for their
// byte sizes (kv_bytes_per_token, kv_cache_bytes), used by the cache itself, `inspect`, `eval
// --json` and the advisor. Bit layouts (docs/FORMATS.md, "KV cache"), per layer, with H KV
// heads of D channels and P positions; "row" = one token's H x D values in head-major order:
//  f32       keys [P][H*D] f32, values the same.
//  f16, bf16 the same in IEEE half / bfloat16 (uint16).
//  int8      codes [P][H*D] int8 in -127..127, scales [P][H] f16: x = code * scale,
//            scale = amax(token, head) / 127 rounded to f16 (symmetric, per token per head).
//  int4      KIVI: keys per channel, values per token, codes two per byte (low nibble = even
//            channel). Keys: codes [P][H*D/2], per group of 32 tokens and channel a (scale,
//            min) f16 pair [P/32][H][D][2]; values: codes [P][H*D/2], per token and group of
//            Gc channels (Gc = 32 when D % 32 == 0, else D) a (scale, min) pair [P][H][D/Gc][2].
//            x = min + code * scale, code in 0..15, scale = (max - min) / 15. The tokens after
//            the last quantized one (fewer than `residual`, a multiple of 32) stay in f16
//            ([residual][H*D] for K and for V); when the window holds `residual` tokens they are
//            quantized together and the window empties (KIVI's residual).
//  int4-naive keys quantized per token like the values (no residual window): what a per-token
//            block cache (llama.cpp q4_1-style) does with outlier key channels.
//  fp8       e4m3 codes [P][H*D] uint8, x = e4m3(code) * scale with one f32 scale per layer
//            for K and one for V: calibrated (amax / 448 over calibration text), or dynamic:
//            amax / 448 over the rows of the first write of a sequence (the write at position
//            0, i.e. the whole prompt or window), fixed for the rest of the sequence; later
//            values beyond 448 * scale saturate.
//  fp8-e5m2  e5m2 codes [P][H*D] uint8, no scale.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lowbit::kernels {

enum class KvDtype : uint8_t { f32, f16, bf16, int8, int4, int4_naive, fp8, fp8_e5m2 };

// Every dtype in display order.
const std::vector<KvDtype>& kv_dtypes();
const char* kv_dtype_name(KvDtype dtype);  // "f32", ..., "int4-naive", "fp8", "fp8-e5m2"
// Accepts the names above; throws InvalidArgument naming --kv-cache-dtype otherwise.
KvDtype parse_kv_dtype(std::string_view name);

// Tokens per int4 key group (along the token axis) and the default residual window.
inline constexpr int64_t kKvGroupTokens = 32;
inline constexpr int64_t kKvDefaultResidual = 32;

struct KvFormat {
  KvDtype dtype = KvDtype::f32;
  int64_t residual = kKvDefaultResidual;  // int4 only: a positive multiple of 32
  // fp8 only: calibrated scales per layer (empty: dynamic).
  std::vector<float> key_scales, value_scales;
};

// Throws InvalidArgument (naming --kv-residual) on a residual that is not a positive multiple
// of 32 for int4, or calibrated scales that are not positive and finite.
void validate_kv_format(const KvFormat& format);

// Channels per (scale, min) pair of a per-token int4 row: 32 when head_dim % 32 == 0, else
// the whole head.
int64_t kv_int4_channel_group(int64_t head_dim);

// Steady-state bytes per token of K and V over `n_layers` layers, scales included (int4 key
// scales amortized over their 32 tokens); excludes what does not grow with the context (the
// int4 residual window, fp8 per-layer scales).
double kv_bytes_per_token(KvDtype dtype, int64_t n_layers, int64_t n_kv_heads, int64_t head_dim);
// Bytes a cache of `positions` positions allocates: per-token storage, scales (int4 key
// groups rounded up to whole groups), the int4 residual window and fp8 per-layer scales.
int64_t kv_cache_bytes(const KvFormat& format, int64_t n_layers, int64_t n_kv_heads,
                       int64_t head_dim, int64_t positions);
// The same for one layer.
int64_t kv_layer_bytes(const KvFormat& format, int64_t n_kv_heads, int64_t head_dim,
                       int64_t positions);

// One line describing the layout, for reports.
std::string kv_layout_description(KvDtype dtype);

}  // namespace lowbit::kernels
