// SPDX-License-Identifier: MIT
// Reading measured KL / perplexity results and classifying their loss.
#include "advisor/measured.h"

#include <cmath>

#include "util/atomic_file.h"
#include "util/check.h"

namespace lowbit::advisor {
namespace {

using nlohmann::json;

std::optional<double> number_field(const json& entry, std::initializer_list<const char*> keys,
                                   const std::string& where) {
  for (const char* key : keys) {
    if (!entry.contains(key) || entry.at(key).is_null()) continue;
    const json& v = entry.at(key);
    LB_CHECK_FORMAT(v.is_number() && std::isfinite(v.get<double>()) && v.get<double>() >= 0, where,
                    ": field '", key, "' must be a non-negative number");
    return v.get<double>();
  }
  return std::nullopt;
}

bool is_reference(std::string_view scheme) {
  return scheme == "f32" || scheme == "f16" || scheme == "bf16";
}

}  // namespace

std::string_view quality_name(QualityBudget q) {
  switch (q) {
    case QualityBudget::zero:
      return "zero";
    case QualityBudget::small:
      return "small";
    case QualityBudget::moderate:
      return "moderate";
    case QualityBudget::large:
      return "large";
  }
  return "?";
}

QualityBudget parse_quality(std::string_view name) {
  for (auto q :
       {QualityBudget::zero, QualityBudget::small, QualityBudget::moderate, QualityBudget::large})
    if (quality_name(q) == name) return q;
  throw InvalidArgument(
      concat("--quality: expected zero, small, moderate or large, got '", name, "'"));
}

const Measurement* MeasuredQuality::find(std::string_view scheme) const {
  for (const auto& m : entries)
    if (m.scheme == scheme) return &m;
  return nullptr;
}

std::optional<QualityBudget> MeasuredQuality::loss_class(std::string_view scheme) const {
  const Measurement* m = find(scheme);
  if (m == nullptr) return std::nullopt;
  auto classify = [](double x, double zero, double small, double moderate) {
    return x <= zero       ? QualityBudget::zero
           : x <= small    ? QualityBudget::small
           : x <= moderate ? QualityBudget::moderate
                           : QualityBudget::large;
  };
  if (m->kl_divergence) return classify(*m->kl_divergence, 0.001, 0.01, 0.05);
  if (m->perplexity && reference_perplexity && *reference_perplexity > 0)
    return classify(*m->perplexity / *reference_perplexity - 1.0, 0.001, 0.01, 0.05);
  return std::nullopt;
}

std::string MeasuredQuality::describe(std::string_view scheme) const {
  const Measurement* m = find(scheme);
  if (m == nullptr) return "not measured";
  std::string out;
  if (m->kl_divergence) out = concat("KL ", *m->kl_divergence);
  if (m->perplexity) {
    out += concat(out.empty() ? "" : ", ", "ppl ", *m->perplexity);
    if (reference_perplexity && *reference_perplexity > 0)
      out += concat(" (", std::showpos,
                    std::round((*m->perplexity / *reference_perplexity - 1.0) * 1000.0) / 10.0,
                    std::noshowpos, "% over ", *reference_perplexity, ")");
  }
  return out;
}

MeasuredQuality parse_measured(const json& doc, std::string_view label) {
  MeasuredQuality out;
  out.label = std::string(label);
  const json* list = &doc;
  json single;
  if (doc.is_object()) {
    list = nullptr;
    for (const char* key : {"results", "schemes", "runs"})
      if (doc.contains(key) && doc.at(key).is_array()) list = &doc.at(key);
    if (list == nullptr) {
      LB_CHECK_FORMAT(doc.contains("scheme"), label,
                      ": expected an array of results, an object with 'results', or one result "
                      "with 'scheme'");
      single = json::array({doc});
      list = &single;
    }
    out.reference_perplexity = number_field(
        doc, {"reference_perplexity", "baseline_perplexity", "baseline_ppl"}, std::string(label));
  }
  LB_CHECK_FORMAT(list->is_array(), label, ": expected an array of results");
  for (size_t i = 0; i < list->size(); ++i) {
    const json& e = list->at(i);
    const std::string where = concat(label, ": result ", i);
    LB_CHECK_FORMAT(e.is_object() && e.contains("scheme") && e.at("scheme").is_string(), where,
                    ": missing string field 'scheme'");
    Measurement m;
    m.scheme = e.at("scheme").get<std::string>();
    m.kl_divergence = number_field(e, {"kl_divergence", "kld", "mean_kld", "kl"}, where);
    m.perplexity = number_field(e, {"perplexity", "ppl"}, where);
    LB_CHECK_FORMAT(m.kl_divergence || m.perplexity, where, " ('", m.scheme,
                    "'): has neither 'kl_divergence' nor 'perplexity'");
    // `lowbit eval --json` carries the unquantized model's perplexity in each result.
    const auto baseline = number_field(e, {"baseline_ppl", "baseline_perplexity"}, where);
    if (!out.reference_perplexity) out.reference_perplexity = baseline;
    if (is_reference(m.scheme) && m.perplexity && !out.reference_perplexity)
      out.reference_perplexity = m.perplexity;
    out.entries.push_back(std::move(m));
  }
  LB_CHECK_FORMAT(!out.entries.empty(), label, ": no results");
  return out;
}

MeasuredQuality load_measured(const std::filesystem::path& path) {
  const std::string text = read_file(path);
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    throw FormatError(concat("--measured ", path.string(), ": not valid JSON (", e.what(), ")"));
  }
  return parse_measured(doc, concat("--measured ", path.string()));
}

}  // namespace lowbit::advisor
