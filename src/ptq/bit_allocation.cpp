// SPDX-License-Identifier: MIT
#include "ptq/bit_allocation.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <numeric>

#include "model/llama_weights.h"
#include "util/check.h"

namespace lowbit::ptq {

namespace {

// name as a regex matching exactly it.
std::string exact_pattern(const std::string& name) {
  std::string out = "^";
  for (const char ch : name) {
    if (std::string_view(R"(\^$.|?*+()[]{})").find(ch) != std::string_view::npos) out += '\\';
    out += ch;
  }
  return out + "$";
}

struct Candidate {
  std::string name;
  double extra_bits;  // stored bits the upgrade adds
};

struct Budget {
  std::vector<Candidate> candidates;  // linears on options.linear, forward order
  double bits = 0, weights = 0;       // stored bits and weights of every linear, no upgrades
};

Budget budget_of(const model::LlamaConfig& config, const QuantizeOptions& options,
                 const quant::Scheme& upgrade, double target) {
  LB_CHECK_ARG(options.linear.has_value(), "--mix needs --scheme: the scheme it upgrades from");
  options.check_rules(config);
  const quant::Scheme& base = *options.linear;
  Budget b;
  model::for_each_linear(config, [&](const std::string& name, const Shape& shape) {
    const quant::Scheme* own = options.linear_scheme(name);
    const double n = static_cast<double>(shape[0] * shape[1]);
    const double own_bits = quant::scheme_bits_per_weight(*own, shape[0], shape[1]) * n;
    b.bits += own_bits;
    b.weights += n;
    if (own != &base) return;
    const double extra = quant::scheme_bits_per_weight(upgrade, shape[0], shape[1]) * n - own_bits;
    LB_CHECK_ARG(extra > 0, "--mix ", upgrade.name, " costs no more bits than --scheme ", base.name,
                 " on ", name, "; give a wider scheme to upgrade to");
    b.candidates.push_back({name, extra});
  });
  char tbuf[32], bbuf[32];
  std::snprintf(tbuf, sizeof tbuf, "%.4g", target);
  std::snprintf(bbuf, sizeof bbuf, "%.4f", b.bits / b.weights);
  LB_CHECK_ARG(target >= b.bits / b.weights, "--target-bpw ", tbuf, " is below the ", bbuf,
               " bits per weight the linears take without upgrades");
  return b;
}

}  // namespace

double check_mix_budget(const model::LlamaConfig& config, const QuantizeOptions& options,
                        const quant::Scheme& upgrade, double target) {
  const Budget b = budget_of(config, options, upgrade, target);
  return b.bits / b.weights;
}

MixPlan plan_mixed_bits(const std::vector<LinearSensitivity>& sensitivity,
                        const model::LlamaConfig& config, const QuantizeOptions& options,
                        const quant::Scheme& upgrade, double target) {
  const Budget b = budget_of(config, options, upgrade, target);
  const std::vector<Candidate>& candidates = b.candidates;
  std::map<std::string, double, std::less<>> kl_of;
  for (const LinearSensitivity& s : sensitivity) kl_of[s.name] = s.kl;
  std::vector<double> kl;
  for (const Candidate& c : candidates) {
    const auto it = kl_of.find(c.name);
    LB_CHECK_ARG(it != kl_of.end(), "internal: no sensitivity measured for ", c.name);
    kl.push_back(it->second);
  }
  MixPlan plan;
  plan.base_bits_per_weight = b.bits / b.weights;
  std::vector<size_t> order(candidates.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    return kl[x] / candidates[x].extra_bits > kl[y] / candidates[y].extra_bits;
  });
  const double budget = target * b.weights;
  double bits = b.bits;
  std::vector<bool> chosen(candidates.size(), false);
  for (const size_t i : order) {
    plan.total_kl += kl[i];
    if (bits + candidates[i].extra_bits > budget) continue;  // a smaller one may still fit
    bits += candidates[i].extra_bits;
    chosen[i] = true;
    plan.upgraded_kl += kl[i];
  }
  for (size_t i = 0; i < candidates.size(); ++i)
    if (chosen[i]) plan.upgraded.push_back(candidates[i].name);
  plan.bits_per_weight = bits / b.weights;
  return plan;
}

QuantizeOptions apply_mix_plan(QuantizeOptions options, const MixPlan& plan,
                               const quant::Scheme& upgrade, double target) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", target);
  options.label = concat(options.linear->name, " mix=", upgrade.name, "@", buf);
  for (const TensorRule& r : options.rules) options.label += " " + r.pattern + "=" + r.scheme.name;
  for (const std::string& name : plan.upgraded)
    options.rules.emplace_back(exact_pattern(name), upgrade);
  return options;
}

}  // namespace lowbit::ptq
