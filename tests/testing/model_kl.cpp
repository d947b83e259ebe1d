// SPDX-License-Identifier: MIT
#include "testing/model_kl.h"

#include <cmath>
#include <span>

#include "kernels/exec_context.h"
#include "model/llama_config.h"
#include "ptq/model_loader.h"

namespace lowbit::testing {

double mean_kl(const ModelSource& source, const TensorMap& tensors,
               const std::vector<std::vector<int32_t>>& windows) {
  const model::LlamaConfig c = model::LlamaConfig::from_json(source.config);
  auto a = ptq::build_model(source.config, source.tensors);
  auto b = ptq::build_model(source.config, tensors);
  kernels::ExecContext ctx(1);
  double kl = 0;
  int64_t n = 0;
  for (const auto& win : windows) {
    const auto len = static_cast<int64_t>(win.size());
    std::vector<float> la(static_cast<size_t>(len * c.vocab_size)), lb(la.size());
    model::KvCache ca = a->make_cache(len), cb = b->make_cache(len);
    a->forward(std::span<const int32_t>(win), 0, ca, la.data(), ctx);
    b->forward(std::span<const int32_t>(win), 0, cb, lb.data(), ctx);
    for (int64_t t0 = len / 2; t0 < len; ++t0, ++n) {
      const float* za = &la[static_cast<size_t>(t0 * c.vocab_size)];
      const float* zb = &lb[static_cast<size_t>(t0 * c.vocab_size)];
      double sa = 0, sb = 0;
      for (int64_t v = 0; v < c.vocab_size; ++v) {
        sa += std::exp(static_cast<double>(za[v]));
        sb += std::exp(static_cast<double>(zb[v]));
      }
      for (int64_t v = 0; v < c.vocab_size; ++v) {
        const double pa = std::exp(static_cast<double>(za[v])) / sa;
        const double pb = std::exp(static_cast<double>(zb[v])) / sb;
        kl += pa * (std::log(pa) - std::log(pb));
      }
    }
  }
  return kl / static_cast<double>(n);
}

}  // namespace lowbit::testing
