// SPDX-License-Identifier: MIT
// The shape checks shared by the decode and prefill attention kernels.
#pragma once

#include <cstdint>

#include "kernels/kv_layer_cache.h"

namespace lowbit::kernels::cpu {

// Throws Error (prefixed by `who`) unless the query heads share the kv heads evenly, the kv
// heads cover the cache's rows, and 0 < n_keys <= cache.length().
void check_attention_shape(const KvLayerCache& cache, int64_t n_keys, int64_t n_heads,
                           int64_t n_kv_heads, int64_t head_dim, const char* who);

}  // namespace lowbit::kernels::cpu
