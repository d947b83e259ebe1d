// SPDX-License-Identifier: MIT
#include "tensor/activation_quant.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <utility>

#include "util/check.h"

namespace lowbit {

namespace {

constexpr std::array<std::pair<ActQuantKind, const char*>, 7> kNames{{
    {ActQuantKind::none, "none"},
    {ActQuantKind::int8_tensor_dynamic, "int8-tensor-dynamic"},
    {ActQuantKind::int8_token, "int8-token"},
    {ActQuantKind::int8_tensor_static, "int8-tensor-static"},
    {ActQuantKind::int8_outlier_split, "int8-outlier-split"},
    {ActQuantKind::fp8_token, "fp8-token"},
    {ActQuantKind::fp8_tensor_static, "fp8-tensor-static"},
}};

}  // namespace

std::string act_quant_name(ActQuantKind kind) {
  for (const auto& [k, name] : kNames)
    if (k == kind) return name;
  return "none";
}

std::optional<ActQuantKind> act_quant_from_name(std::string_view name) {
  for (const auto& [k, n] : kNames)
    if (name == n) return k;
  return std::nullopt;
}

std::string act_quant_label(const ActivationQuant& act) {
  char buf[64];
  switch (act.kind) {
    case ActQuantKind::none:
      return "";
    case ActQuantKind::int8_tensor_dynamic:
      return "a8 per-tensor dynamic";
    case ActQuantKind::int8_token:
      return "a8 per-token";
    case ActQuantKind::int8_tensor_static:
      std::snprintf(buf, sizeof buf, "a8 static %.4g", act.scale);
      return buf;
    case ActQuantKind::int8_outlier_split:
      std::snprintf(buf, sizeof buf, "llm.int8 t=%g", act.threshold);
      return buf;
    case ActQuantKind::fp8_token:
      return "fp8 a per-token";
    case ActQuantKind::fp8_tensor_static:
      std::snprintf(buf, sizeof buf, "fp8 a static %.4g", act.scale);
      return buf;
  }
  return "";
}

void validate_activation_quant(const ActivationQuant& act, const QuantFormat& format,
                               std::string_view what) {
  if (!act.enabled()) return;
  if (act.is_int8())
    LB_CHECK_ARG(format.kind == QuantKind::affine_int && format.bits == 8 && format.symmetric &&
                     (format.group_size == kPerChannel || format.group_size == kPerTensor),
                 what, ": ", act_quant_name(act.kind),
                 " activations need 8-bit symmetric per-channel or per-tensor weights, got ",
                 format_name(format));
  if (act.is_static())
    LB_CHECK_ARG(std::isfinite(act.scale) && act.scale > 0.0f, what, ": ", act_quant_name(act.kind),
                 " needs a finite activation scale > 0, got ", act.scale);
  if (act.kind == ActQuantKind::int8_outlier_split)
    LB_CHECK_ARG(std::isfinite(act.threshold) && act.threshold > 0.0f, what,
                 ": the outlier threshold must be finite and > 0, got ", act.threshold);
}

}  // namespace lowbit
