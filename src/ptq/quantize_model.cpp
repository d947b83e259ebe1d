// SPDX-License-Identifier: MIT
// Layer-by-layer quantization of a model's linear weights.
#include "ptq/quantize_model.h"

#include <algorithm>
#include <mutex>
#include <vector>

#include "kernels/kernels.h"
#include "model/llama_config.h"
#include "model/llama_weights.h"
#include "quant/rtn.h"
#include "util/check.h"

namespace lowbit::ptq {

QuantizedModel quantize_model(const ModelSource& source, const quant::Scheme& scheme,
                              kernels::ExecContext& ctx,
                              const std::function<void(const QuantizeProgress&)>& progress) {
  const model::LlamaConfig config = model::LlamaConfig::from_json(source.config);
  LB_CHECK_ARG(scheme.algorithm == "rtn", "scheme ", scheme.name, " needs algorithm ",
               scheme.algorithm, ", which this build does not run");
  std::vector<std::string> names;
  model::for_each_linear(config, [&](const std::string& name, const Shape& shape) {
    const QuantizedTensor& t = source.tensors.at(name);
    LB_CHECK_FORMAT(t.shape == shape, "tensor ", name, " has shape ", shape_string(t.shape),
                    ", expected ", shape_string(shape));
    // Validated before any work starts: a NaN in the file is the file's defect, reported as
    // such and before any progress line.
    t.check_finite(name);
    names.push_back(name);
  });

  std::vector<QuantizedTensor> out(names.size());
  std::mutex progress_mutex;
  int64_t done = 0;
  size_t bytes_before = 0, bytes_after = 0;
  // One tensor per task: each output is produced by exactly one task, so the result does not
  // depend on the thread count.
  ctx.pool->parallel_for(0, static_cast<int64_t>(names.size()), 1, [&](int64_t b, int64_t e) {
    std::vector<float> dense;
    for (int64_t i = b; i < e; ++i) {
      const std::string& name = names[static_cast<size_t>(i)];
      const QuantizedTensor& t = source.tensors.at(name);
      const float* w = nullptr;
      if (t.format.kind == QuantKind::f32) {
        w = t.codes.as<float>();
      } else {
        dense.resize(static_cast<size_t>(t.numel()));
        kernels::dequantize_rows(t, 0, t.rows(), dense.data());
        w = dense.data();
      }
      out[static_cast<size_t>(i)] = quant::quantize_rtn(w, t.rows(), t.cols(), scheme.format, name);
      std::lock_guard<std::mutex> lock(progress_mutex);
      ++done;
      bytes_before += t.storage_bytes();
      bytes_after += out[static_cast<size_t>(i)].storage_bytes();
      if (progress)
        progress({done, static_cast<int64_t>(names.size()), name, t.storage_bytes(),
                  out[static_cast<size_t>(i)].storage_bytes()});
    }
  });

  QuantizedModel result;
  size_t linear_index = 0;
  for (const std::string& name : source.tensors.names()) {
    auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end()) {
      result.tensors.add(name, source.tensors.at(name));
    } else {
      result.tensors.add(name, out[static_cast<size_t>(it - names.begin())]);
      ++linear_index;
    }
  }
  LB_CHECK(linear_index == names.size(), "internal: lost a quantized tensor");
  double weights = 0;
  for (const auto& t : out) weights += static_cast<double>(t.numel());
  result.linear_bits_per_weight =
      weights > 0 ? 8.0 * static_cast<double>(bytes_after) / weights : 0;
  result.quantization = {{"scheme", scheme.name},
                         {"algorithm", scheme.algorithm},
                         {"format", format_name(scheme.format)},
                         {"bits", scheme.format.bits},
                         {"group_size", scheme.format.group_size},
                         {"symmetric", scheme.format.symmetric},
                         {"targets", "linear layers of every block (q,k,v,o,gate,up,down)"},
                         {"linear_bits_per_weight", result.linear_bits_per_weight}};
  return result;
}

}  // namespace lowbit::ptq
