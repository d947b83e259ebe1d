// SPDX-License-Identifier: MIT
// What calibration reports for one linear layer, and its JSON form (kept with finished blocks
// so that a resumed run reports every layer).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace lowbit::ptq {

// Per linear layer: the relative output error ||W X - Q X||^2 / ||W X||^2 on the calibration
// rows, for the chosen method and for RTN in the same format (with --match-float, against the
// unquantized model's output: ||W X - Q X~||^2 / ||W X||^2, ptq/float_target.h).
struct LayerReport {
  std::string name;
  std::string method;
  std::string scheme;  // the linear's scheme (differs between linears under --tensor-type)
  double error = 0;
  double rtn_error = 0;
  double damp = 0;  // GPTQ: relative dampening that factorized
  bool rtn_fallback = false;
};

inline nlohmann::json to_json(const LayerReport& r) {
  return {{"name", r.name},
          {"method", r.method},
          {"scheme", r.scheme},
          {"relative_output_error", r.error},
          {"rtn_relative_output_error", r.rtn_error},
          {"damp", r.damp},
          {"rtn_fallback", r.rtn_fallback}};
}

// Throws nlohmann::json::exception when a key is missing or of the wrong type.
inline LayerReport layer_report_from_json(const nlohmann::json& j) {
  LayerReport r;
  r.name = j.at("name").get<std::string>();
  r.method = j.at("method").get<std::string>();
  r.scheme = j.at("scheme").get<std::string>();
  r.error = j.at("relative_output_error").get<double>();
  r.rtn_error = j.at("rtn_relative_output_error").get<double>();
  r.damp = j.at("damp").get<double>();
  r.rtn_fallback = j.at("rtn_fallback").get<bool>();
  return r;
}

}  // namespace lowbit::ptq
