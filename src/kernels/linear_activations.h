// SPDX-License-Identifier: MIT
// kernels::linear for weights that quantize their input (QuantizedTensor::act): the native
// int8 product and the fp8 input rounding; and weight-only linears run with int8 activation
// blocks. Internal to the kernels layer.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kernels/cpu/weight_view.h"
#include "kernels/exec_context.h"
#include "tensor/quantized_tensor.h"

namespace lowbit::kernels {

// y[M, N] = Q(x) · W^T (+ bias) through int8 x int8 -> int32 (w.act.is_int8(); the weight is
// 8-bit symmetric, per-channel or per-tensor: checked by the caller).
void linear_int8(const float* x, int64_t m, const QuantizedTensor& w, const float* bias, float* y,
                 ExecContext& ctx);

// One weight of linear_block_q8: the tensor (for its packed layout), its view (passing
// cpu::block_q8_supports), bias (or null) and output [M, rows].
struct BlockQ8Target {
  const QuantizedTensor* tensor = nullptr;
  cpu::WeightView view;
  const float* bias = nullptr;
  float* y = nullptr;
};

// y = x · W^T (+ bias) for every target, x quantized once to int8 blocks of 32
// (ctx.int8_activations). The targets share K and bits.
void linear_block_q8(const float* x, int64_t m, std::span<const BlockQ8Target> targets,
                     ExecContext& ctx);

// x [m, k] rounded to the e4m3 values of w.act (per-row dynamic or static scale): what the
// product of an fp8 input sees. Deterministic; rows in parallel.
std::vector<float> round_to_fp8(const float* x, int64_t m, int64_t k, const ActivationQuant& act,
                                ExecContext& ctx);

}  // namespace lowbit::kernels
