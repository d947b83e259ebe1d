// SPDX-License-Identifier: MIT
// KV-cache dtype names and the byte-size rule (the layouts are described in kv_format.h).
#include "kernels/kv_format.h"

#include <cmath>

#include "util/check.h"

namespace lowbit::kernels {
namespace {

struct DtypeName {
  KvDtype dtype;
  const char* name;
  const char* layout;
};

constexpr DtypeName kNames[] = {
    {KvDtype::f32, "f32", "float32"},
    {KvDtype::f16, "f16", "IEEE half"},
    {KvDtype::bf16, "bf16", "bfloat16"},
    {KvDtype::int8, "int8", "int8, symmetric, one f16 scale per token and KV head"},
    {KvDtype::int4, "int4",
     "int4 KIVI: keys per channel in groups of 32 tokens, values per token, f16 (scale, min) "
     "pairs, the most recent tokens in f16"},
    {KvDtype::int4_naive, "int4-naive",
     "int4, keys and values per token, f16 (scale, min) pairs, no f16 window"},
    {KvDtype::fp8, "fp8", "fp8 e4m3, one f32 scale per layer for K and one for V"},
    {KvDtype::fp8_e5m2, "fp8-e5m2", "fp8 e5m2, no scale"},
};

const DtypeName& entry(KvDtype dtype) {
  for (const auto& e : kNames)
    if (e.dtype == dtype) return e;
  throw Error("unknown KV cache dtype");
}

// Bytes per token per KV head for K and V together, scales included (int4 key scales
// amortized over a group), as an exact rational: numerator / 32.
int64_t head_bytes_x32(KvDtype dtype, int64_t d) {
  switch (dtype) {
    case KvDtype::f32:
      return 32 * 2 * 4 * d;
    case KvDtype::f16:
    case KvDtype::bf16:
      return 32 * 2 * 2 * d;
    case KvDtype::int8:
      return 32 * 2 * (d + 2);  // codes + one f16 scale, for K and for V
    case KvDtype::int4: {
      const int64_t values = 32 * (d / 2 + 4 * (d / kv_int4_channel_group(d)));
      const int64_t keys = 32 * (d / 2) + 4 * d;  // 4 bytes per channel per 32 tokens
      return keys + values;
    }
    case KvDtype::int4_naive:
      return 2 * 32 * (d / 2 + 4 * (d / kv_int4_channel_group(d)));
    case KvDtype::fp8:
    case KvDtype::fp8_e5m2:
      return 32 * 2 * d;
  }
  return 0;
}

}  // namespace

const std::vector<KvDtype>& kv_dtypes() {
  static const std::vector<KvDtype> all = {KvDtype::f32,  KvDtype::f16,     KvDtype::bf16,
                                           KvDtype::int8, KvDtype::int4,    KvDtype::int4_naive,
                                           KvDtype::fp8,  KvDtype::fp8_e5m2};
  return all;
}

const char* kv_dtype_name(KvDtype dtype) { return entry(dtype).name; }

std::string kv_layout_description(KvDtype dtype) { return entry(dtype).layout; }

KvDtype parse_kv_dtype(std::string_view name) {
  std::string known;
  for (const auto& e : kNames) {
    if (name == e.name) return e.dtype;
    known += concat(known.empty() ? "" : ", ", e.name);
  }
  throw InvalidArgument(concat("--kv-cache-dtype: unknown dtype '", name, "'; known: ", known));
}

void validate_kv_format(const KvFormat& f) {
  if (f.dtype == KvDtype::int4)
    LB_CHECK_ARG(f.residual > 0 && f.residual % kKvGroupTokens == 0, "--kv-residual ", f.residual,
                 " must be a positive multiple of ", kKvGroupTokens);
  LB_CHECK_ARG(f.key_scales.size() == f.value_scales.size(), "kv cache: calibrated fp8 scales for ",
               f.key_scales.size(), " key and ", f.value_scales.size(), " value layers");
  for (size_t i = 0; i < f.key_scales.size(); ++i)
    LB_CHECK_ARG(std::isfinite(f.key_scales[i]) && f.key_scales[i] > 0 &&
                     std::isfinite(f.value_scales[i]) && f.value_scales[i] > 0,
                 "kv cache: calibrated fp8 scale of layer ", i, " is not positive and finite");
}

int64_t kv_int4_channel_group(int64_t head_dim) { return head_dim % 32 == 0 ? 32 : head_dim; }

double kv_bytes_per_token(KvDtype dtype, int64_t n_layers, int64_t n_kv_heads, int64_t head_dim) {
  LB_CHECK(n_layers > 0 && n_kv_heads > 0 && head_dim > 0, "kv cache: bad shape ", n_layers,
           " layers x ", n_kv_heads, " heads x ", head_dim);
  return static_cast<double>(n_layers * n_kv_heads * head_bytes_x32(dtype, head_dim)) / 32.0;
}

int64_t kv_layer_bytes(const KvFormat& f, int64_t n_kv_heads, int64_t head_dim, int64_t positions) {
  LB_CHECK(n_kv_heads > 0 && head_dim > 0 && head_dim % 2 == 0 && positions > 0,
           "kv cache: bad shape ", n_kv_heads, " heads x ", head_dim, " x ", positions,
           " positions");
  const int64_t row = n_kv_heads * head_dim;  // values per token for K (and for V)
  switch (f.dtype) {
    case KvDtype::f32:
      return 2 * positions * row * 4;
    case KvDtype::f16:
    case KvDtype::bf16:
      return 2 * positions * row * 2;
    case KvDtype::int8:
      return 2 * positions * (row + 2 * n_kv_heads);
    case KvDtype::int4:
    case KvDtype::int4_naive: {
      const int64_t token_pairs = n_kv_heads * (head_dim / kv_int4_channel_group(head_dim));
      const int64_t values = positions * (row / 2 + 4 * token_pairs);
      if (f.dtype == KvDtype::int4_naive) return 2 * values;
      const int64_t groups = (positions + kKvGroupTokens - 1) / kKvGroupTokens;
      const int64_t keys = positions * (row / 2) + groups * row * 4;
      const int64_t window = 2 * f.residual * row * 2;
      return keys + values + window;
    }
    case KvDtype::fp8:
      return 2 * positions * row + 2 * 4;
    case KvDtype::fp8_e5m2:
      return 2 * positions * row;
  }
  return 0;
}

int64_t kv_cache_bytes(const KvFormat& f, int64_t n_layers, int64_t n_kv_heads, int64_t head_dim,
                       int64_t positions) {
  LB_CHECK(n_layers > 0, "kv cache: bad layer count ", n_layers);
  return n_layers * kv_layer_bytes(f, n_kv_heads, head_dim, positions);
}

}  // namespace lowbit::kernels
