// SPDX-License-Identifier: MIT
// ActivationQuant: how a linear layer quantizes its input rows before the product (W8A8 and
// FP8 schemes). It travels with the weight (QuantizedTensor::act), is saved in checkpoints and
// is applied inside kernels::linear, so the model never branches on it.
//
//  kind                 activations                                     weight it needs
//  -------------------  ----------------------------------------------
//  ----------------------------- none                 f32 as given any int8_tensor_dynamic  int8,
//  one scale max|X| / 127 over the whole call  int8 sym, per-channel/-tensor int8_token int8, one
//  scale max|x_row| / 127 per row          int8 sym, per-channel/-tensor int8_tensor_static   int8,
//  the stored `scale` (from calibration)       int8 sym, per-channel/-tensor int8_outlier_split
//  LLM.int8(): columns with any |x| >= `threshold`   int8 sym, per-channel/-tensor
//                       go through f32 x the dequantized weight columns,
//                       the rest int8 per row
//  fp8_token            e4m3 codes, one scale max|x_row| / 448 per row    any (fp8 e4m3 by the
//  schemes) fp8_tensor_static    e4m3 codes, the stored `scale` (from calibration) any
// int8 kinds run the native int8 x int8 -> int32 product (kernels/cpu/int8_gemm.h); fp8 kinds
// round the input to its e4m3 values and run the weight's own f32 path (CPUs have no fp8 math).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tensor/quant_format.h"

namespace lowbit {

enum class ActQuantKind : uint8_t {
  none,
  int8_tensor_dynamic,
  int8_token,
  int8_tensor_static,
  int8_outlier_split,
  fp8_token,
  fp8_tensor_static,
};

inline constexpr float kLlmInt8Threshold = 6.0f;

struct ActivationQuant {
  ActQuantKind kind = ActQuantKind::none;
  float scale = 0.0f;                   // static kinds: the activation scale (> 0)
  float threshold = kLlmInt8Threshold;  // int8_outlier_split only

  bool enabled() const { return kind != ActQuantKind::none; }
  bool is_int8() const {
    return kind == ActQuantKind::int8_tensor_dynamic || kind == ActQuantKind::int8_token ||
           kind == ActQuantKind::int8_tensor_static || kind == ActQuantKind::int8_outlier_split;
  }
  bool is_fp8() const {
    return kind == ActQuantKind::fp8_token || kind == ActQuantKind::fp8_tensor_static;
  }
  bool is_static() const {
    return kind == ActQuantKind::int8_tensor_static || kind == ActQuantKind::fp8_tensor_static;
  }
  bool operator==(const ActivationQuant&) const = default;
};

// "none", "int8-tensor-dynamic", "int8-token", "int8-tensor-static", "int8-outlier-split",
// "fp8-token", "fp8-tensor-static": the names checkpoints store.
std::string act_quant_name(ActQuantKind kind);
std::optional<ActQuantKind> act_quant_from_name(std::string_view name);
// A short readable form: "a8 per-token", "a8 static 0.0213", "llm.int8 t=6", "" for none.
std::string act_quant_label(const ActivationQuant& act);

// Throws InvalidArgument (naming `what`) when `act` cannot run with a weight in `format`: int8
// kinds need 8-bit symmetric affine_int weights, per-channel or per-tensor; static kinds need
// a finite scale > 0; the outlier split needs a finite threshold > 0.
void validate_activation_quant(const ActivationQuant& act, const QuantFormat& format,
                               std::string_view what);

}  // namespace lowbit
