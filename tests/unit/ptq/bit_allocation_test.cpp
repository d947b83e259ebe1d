// SPDX-License-Identifier: MIT
// Mixed bit widths by measured sensitivity: each linear's KL equals a direct computation with
// only that linear rounded, at any thread count; the budget plan takes the most KL per extra bit
// first, never exceeds the target, and leaves nothing that would still fit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "kernels/kernels.h"
#include "model/llama_config.h"
#include "model/llama_weights.h"
#include "ptq/bit_allocation.h"
#include "ptq/calibration_windows.h"
#include "ptq/sensitivity.h"
#include "quant/rtn.h"
#include "quant/scheme.h"
#include "testing/model_kl.h"
#include "testing/synthetic_source.h"
#include "util/error.h"

namespace lowbit::ptq {
namespace {

ModelSource tiny_source() { return testing::synthetic_source("tiny"); }

std::vector<std::vector<int32_t>> windows(int64_t vocab, int64_t n, int64_t len) {
  std::vector<int32_t> tokens(2048);
  for (size_t i = 0; i < tokens.size(); ++i)
    tokens[i] = static_cast<int32_t>((i * 97 + i / 5) % static_cast<size_t>(vocab));
  return calibration_windows(tokens, n, len, 1);
}

// Mean KL(stored || with `name` rounded to `format`) over the second half of each window, by
// two whole-model forward passes.
double direct_kl(const ModelSource& source, const std::string& name, const QuantFormat& format,
                 const std::vector<std::vector<int32_t>>& ws) {
  TensorMap probed = source.tensors;
  const QuantizedTensor& t = source.tensors.at(name);
  const std::vector<float> w = kernels::dequantize_all(t);
  probed.set(name, quant::quantize_rtn(w.data(), t.rows(), t.cols(), format, name));
  return testing::mean_kl(source, probed, ws);
}

TEST(Sensitivity, EachLinearsKlIsTheModelsWithOnlyItRoundedAtAnyThreadCount) {
  const ModelSource source = tiny_source();
  const model::LlamaConfig c = model::LlamaConfig::from_json(source.config);
  const auto ws = windows(c.vocab_size, 2, 32);
  const quant::Scheme probe = quant::find_scheme("gptq-w2g16");  // probed by RTN of w2g16
  kernels::ExecContext one(1), two(2);
  int64_t calls = 0;
  const std::vector<LinearSensitivity> a = measure_linear_sensitivity(
      source, probe, ws, one, [&](const SensitivityProgress& p) { calls = p.done; });
  const std::vector<LinearSensitivity> b = measure_linear_sensitivity(source, probe, ws, two);
  ASSERT_EQ(a.size(), static_cast<size_t>(7 * c.n_layers));
  EXPECT_EQ(calls, 7 * c.n_layers);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_EQ(a[i].kl, b[i].kl) << a[i].name;  // bit for bit
    EXPECT_GT(a[i].kl, 0) << a[i].name;
  }
  EXPECT_EQ(a[2].name, "model.layers.0.self_attn.v_proj.weight");
  EXPECT_EQ(a[2].weights, c.kv_dim() * c.dim);
  for (const size_t i : {size_t{2}, size_t{6}, a.size() - 1}) {
    const double want = direct_kl(source, a[i].name, probe.format, ws);
    EXPECT_NEAR(a[i].kl, want, 1e-3 * want + 1e-9) << a[i].name;
  }
}

TEST(BitAllocation, SpendsTheBudgetOnTheMostKlPerExtraBitAndStaysWithinIt) {
  const ModelSource source = tiny_source();
  const model::LlamaConfig c = model::LlamaConfig::from_json(source.config);
  QuantizeOptions o;
  o.linear = quant::find_scheme("w3g16");
  o.rules.emplace_back(R"(layers\.1\.mlp\.down)", quant::find_scheme("w4g16"));  // kept as ruled
  const quant::Scheme up = quant::find_scheme("w8");
  std::vector<LinearSensitivity> s;
  std::map<std::string, Shape> shapes;
  model::for_each_linear(c, [&](const std::string& name, const Shape& shape) {
    shapes[name] = shape;
    // Distinct values, unrelated to size, so the order by KL per bit is not the forward order.
    s.push_back({name, shape[0] * shape[1], 1e-3 * static_cast<double>((s.size() * 7) % 13 + 1)});
  });
  const auto bits = [&](const quant::Scheme& scheme, const std::string& name) {
    return quant::scheme_bits_per_weight(scheme, shapes[name][0], shapes[name][1]) *
           static_cast<double>(shapes[name][0] * shapes[name][1]);
  };
  double total = 0, weights = 0;
  for (const auto& [name, shape] : shapes) {
    total += bits(*o.linear_scheme(name), name);
    weights += static_cast<double>(shape[0] * shape[1]);
  }
  const double base = total / weights;
  const double target = base + 0.4 * (8.5 - base) * 0.5;
  const MixPlan plan = plan_mixed_bits(s, c, o, up, target);
  EXPECT_NEAR(plan.base_bits_per_weight, base, 1e-12);
  EXPECT_LE(plan.bits_per_weight, target);
  ASSERT_FALSE(plan.upgraded.empty());
  EXPECT_EQ(
      std::count(plan.upgraded.begin(), plan.upgraded.end(), "model.layers.1.mlp.down_proj.weight"),
      0);
  // Every upgraded linear has at least the KL per extra bit of every one left out that fits.
  double spent = base * weights;
  double worst_taken = 1e300;
  for (const std::string& name : plan.upgraded) {
    const double extra = bits(up, name) - bits(*o.linear, name);
    spent += extra;
    const auto it = std::find_if(s.begin(), s.end(), [&](const auto& x) { return x.name == name; });
    worst_taken = std::min(worst_taken, it->kl / extra);
  }
  EXPECT_NEAR(spent / weights, plan.bits_per_weight, 1e-9);
  for (const LinearSensitivity& x : s) {
    if (o.linear_scheme(x.name) != &*o.linear ||
        std::count(plan.upgraded.begin(), plan.upgraded.end(), x.name))
      continue;
    const double extra = bits(up, x.name) - bits(*o.linear, x.name);
    EXPECT_GT(spent + extra, target * weights) << x.name << " would still fit";
  }
  // The best ratio overall is taken (it fits: the budget holds several upgrades).
  const auto best = std::max_element(s.begin(), s.end(), [&](const auto& x, const auto& y) {
    const auto ratio = [&](const LinearSensitivity& z) {
      return o.linear_scheme(z.name) == &*o.linear
                 ? z.kl / (bits(up, z.name) - bits(*o.linear, z.name))
                 : -1.0;
    };
    return ratio(x) < ratio(y);
  });
  EXPECT_EQ(std::count(plan.upgraded.begin(), plan.upgraded.end(), best->name), 1);
  EXPECT_GE(worst_taken, 0);

  const QuantizeOptions mixed = apply_mix_plan(o, plan, up, target);
  EXPECT_EQ(mixed.rules.size(), 1 + plan.upgraded.size());
  for (const std::string& name : plan.upgraded) EXPECT_EQ(mixed.linear_scheme(name)->name, "w8");
  EXPECT_EQ(mixed.linear_scheme("model.layers.1.mlp.down_proj.weight")->name, "w4g16");
  EXPECT_EQ(mixed.name().rfind("w3g16 mix=w8@", 0), 0u) << mixed.name();

  EXPECT_THROW(plan_mixed_bits(s, c, o, up, base - 0.01), InvalidArgument);
  EXPECT_THROW(plan_mixed_bits(s, c, o, quant::find_scheme("w2g16"), base + 1), InvalidArgument);
  // With the target at the base, nothing is upgraded.
  EXPECT_TRUE(plan_mixed_bits(s, c, o, up, base).upgraded.empty());
}

}  // namespace
}  // namespace lowbit::ptq
