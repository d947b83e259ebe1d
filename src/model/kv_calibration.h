// SPDX-License-Identifier: MIT
// Calibrated fp8 KV-cache scales: the model runs calibration windows with an f32 cache and
// each layer's scale is amax / 448 of its keys (values) over every calibration token, the
// static per-layer scales vLLM uses for an e4m3 cache.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kernels/exec_context.h"
#include "kernels/kv_format.h"
#include "model/llama_model.h"

namespace lowbit::model {

// An fp8 (e4m3) KvFormat whose key_scales / value_scales come from `windows` (token ids).
// Throws InvalidArgument when there is no window or a window is empty or too long.
kernels::KvFormat calibrate_fp8_kv(const LlamaModel& model,
                                   std::span<const std::vector<int32_t>> windows,
                                   kernels::ExecContext& ctx);

}  // namespace lowbit::model
