// SPDX-License-Identifier: MIT
// `lowbit inspect`: every tensor with shape, format and size; parameter count and bits per weight.
#include <algorithm>
#include <cstdio>

#include "cli/common.h"
#include "cli/subcommands.h"
#include "model/llama_config.h"
#include "model/llama_weights.h"
#include "util/log.h"

namespace lowbit::cli {
namespace {

struct InspectArgs {
  ModelOptions model;
  bool json = false;
};

int run_inspect(const InspectArgs& a) {
  ModelSource source = open_model(a.model);
  if (const std::string problem = tokenizer_problem(source); !problem.empty()) {
    log_warning("tokenizer unusable (inspect does not need it): ", problem);
  }
  const model::LlamaConfig config = model::LlamaConfig::from_json(source.config);
  std::vector<std::string> linear;
  model::for_each_linear(config, [&](const std::string& n, const Shape&) { linear.push_back(n); });
  auto is_linear = [&](const std::string& n) {
    return std::find(linear.begin(), linear.end(), n) != linear.end();
  };
  nlohmann::json tensors = nlohmann::json::array();
  int64_t params = 0, linear_params = 0;
  size_t bytes = 0, linear_bytes = 0;
  for (const std::string& name : source.tensors.names()) {
    const QuantizedTensor& t = source.tensors.at(name);
    params += t.numel();
    bytes += t.storage_bytes();
    if (is_linear(name)) {
      linear_params += t.numel();
      linear_bytes += t.storage_bytes();
    }
    tensors.push_back({{"name", name},
                       {"shape", t.shape},
                       {"format", format_name(t.format)},
                       {"bytes", t.storage_bytes()},
                       {"bits_per_weight", t.bits_per_weight()}});
  }
  const double bpw = params ? 8.0 * static_cast<double>(bytes) / static_cast<double>(params) : 0;
  const double linear_bpw =
      linear_params ? 8.0 * static_cast<double>(linear_bytes) / static_cast<double>(linear_params)
                    : 0;
  nlohmann::json out = {{"model", source.path.string()},
                        {"source_format", source.format},
                        {"config", config.to_json()},
                        {"parameters", params},
                        {"bytes", bytes},
                        {"bits_per_weight", bpw},
                        {"linear_parameters", linear_params},
                        {"linear_bytes", linear_bytes},
                        {"linear_bits_per_weight", linear_bpw},
                        {"tensors", tensors}};
  if (!source.quantization.is_null()) out["quantization"] = source.quantization;
  if (a.json) {
    print_json(out);
    return 0;
  }
  std::printf("%-48s %-20s %-22s %12s %8s\n", "tensor", "shape", "format", "bytes", "bits/w");
  for (const auto& t : tensors)
    std::printf("%-48s %-20s %-22s %12zu %8.4f\n", t["name"].get<std::string>().c_str(),
                shape_string(t["shape"].get<Shape>()).c_str(),
                t["format"].get<std::string>().c_str(), t["bytes"].get<size_t>(),
                t["bits_per_weight"].get<double>());
  std::printf("\n%s (%s): %lld parameters, %s, %.4f bits per weight\n",
              source.path.string().c_str(), source.format.c_str(), static_cast<long long>(params),
              human_bytes(static_cast<double>(bytes)).c_str(), bpw);
  std::printf("linear layers: %lld parameters, %s, %.4f bits per weight\n",
              static_cast<long long>(linear_params),
              human_bytes(static_cast<double>(linear_bytes)).c_str(), linear_bpw);
  return 0;
}

}  // namespace

void add_inspect_command(CLI::App& app, std::function<int()>& action) {
  auto* cmd = app.add_subcommand("inspect", "List tensors, formats, sizes and bits per weight");
  auto a = std::make_shared<InspectArgs>();
  add_model_options(cmd, a->model);
  cmd->add_flag("--json", a->json, "Print one JSON object");
  cmd->callback([&action, a] { action = [a] { return run_inspect(*a); }; });
}

}  // namespace lowbit::cli
