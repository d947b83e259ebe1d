// SPDX-License-Identifier: MIT
// kernels::linear for weights that quantize their input (QuantizedTensor::act): the native
// int8 product and the fp8 input rounding; and weight-only linears run with int8 activation
// blocks. Internal to the kernels layer.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/cpu/weight_view.h"
#include "kernels/exec_context.h"
#include "tensor/quantized_tensor.h"

namespace lowbit::kernels {

// y[M, N] = Q(x) · W^T (+ bias) through int8 x int8 -> int32 (w.act.is_int8(); the weight is
// 8-bit symmetric, per-channel or per-tensor: checked by the caller).
void linear_int8(const float* x, int64_t m, const QuantizedTensor& w, const float* bias, float* y,
                 ExecContext& ctx);

// y[M, N] = x · W^T (+ bias) with x quantized to int8 blocks of 32 (ctx.int8_activations; w is
// tensor's view and passes cpu::block_q8_supports).
void linear_block_q8(const float* x, int64_t m, const QuantizedTensor& tensor,
                     const cpu::WeightView& w, const float* bias, float* y, ExecContext& ctx);

// x [m, k] rounded to the e4m3 values of w.act (per-row dynamic or static scale): what the
// product of an fp8 input sees. Deterministic; rows in parallel.
std::vector<float> round_to_fp8(const float* x, int64_t m, int64_t k, const ActivationQuant& act,
                                ExecContext& ctx);

}  // namespace lowbit::kernels
