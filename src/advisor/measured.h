// SPDX-License-Identifier: MIT
// Measured quality (--measured FILE): per-scheme KL divergence and/or perplexity from a lowbit
// sweep or eval result, turned into the loss class the advisor ranks by.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace lowbit::advisor {

// How much quality loss is acceptable (--quality), and the loss class of a choice.
enum class QualityBudget { zero = 0, small = 1, moderate = 2, large = 3 };
std::string_view quality_name(QualityBudget q);
// "zero", "small", "moderate", "large"; throws InvalidArgument naming --quality.
QualityBudget parse_quality(std::string_view name);

struct Measurement {
  std::string scheme;
  std::optional<double> kl_divergence;  // mean KL(reference || quantized), nats per token
  std::optional<double> perplexity;
};

struct MeasuredQuality {
  std::string label;  // the file
  std::vector<Measurement> entries;
  std::optional<double> reference_perplexity;  // unquantized model, when the file has it

  const Measurement* find(std::string_view scheme) const;
  // The loss class measured for `scheme`: KL when present (<= 0.001 zero, <= 0.01 small,
  // <= 0.05 moderate, else large), else the perplexity increase over the reference (<= 0.1%,
  // 1%, 5%). nullopt when the scheme has no usable measurement.
  std::optional<QualityBudget> loss_class(std::string_view scheme) const;
  // One line: "KL 0.0123, ppl 5.61 (+1.2% over 5.54)".
  std::string describe(std::string_view scheme) const;
};

// Accepts a JSON array of entries, or an object holding one under "results", "schemes" or
// "runs", or a single entry. An entry has "scheme" and any of "kl_divergence" / "kld" /
// "mean_kld" / "kl" and "perplexity" / "ppl". The reference perplexity is a top-level
// "reference_perplexity" / "baseline_perplexity" / "baseline_ppl", an entry's "baseline_ppl"
// (as `lowbit eval --json` writes it), or the entry of scheme f32/f16/bf16.
// Throws FormatError naming `label` and the entry.
MeasuredQuality parse_measured(const nlohmann::json& doc, std::string_view label);
MeasuredQuality load_measured(const std::filesystem::path& path);

}  // namespace lowbit::advisor
