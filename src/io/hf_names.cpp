// SPDX-License-Identifier: MIT
// HF tensor-name builders and the GGUF -> HF name table.
#include "io/hf_names.h"

#include <array>
#include <charconv>
#include <utility>

namespace lowbit::io {
namespace {

// GGUF llama per-layer suffixes and their HF equivalents.
constexpr std::array<std::pair<std::string_view, std::string_view>, 12> kTable{{
    {"attn_norm.weight", kInputNorm},
    {"attn_q.weight", kQProj},
    {"attn_k.weight", kKProj},
    {"attn_v.weight", kVProj},
    {"attn_output.weight", kOProj},
    {"attn_q.bias", kQBias},
    {"attn_k.bias", kKBias},
    {"attn_v.bias", kVBias},
    {"ffn_norm.weight", kPostNorm},
    {"ffn_gate.weight", kGateProj},
    {"ffn_up.weight", kUpProj},
    {"ffn_down.weight", kDownProj},
}};

}  // namespace

std::string layer_tensor(int layer, std::string_view suffix) {
  std::string name = "model.layers.";
  name += std::to_string(layer);
  name += '.';
  name += suffix;
  return name;
}

std::optional<std::string> hf_name_from_gguf(std::string_view name) {
  if (name == "token_embd.weight") return std::string(kEmbedTokens);
  if (name == "output_norm.weight") return std::string(kFinalNorm);
  if (name == "output.weight") return std::string(kLmHead);
  // blk.N.<gguf suffix>
  constexpr std::string_view kBlock = "blk.";
  if (!name.starts_with(kBlock)) return std::nullopt;
  name.remove_prefix(kBlock.size());
  const size_t dot = name.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot > 6) return std::nullopt;
  int layer = 0;
  const auto [end, ec] = std::from_chars(name.data(), name.data() + dot, layer);
  if (ec != std::errc() || end != name.data() + dot || layer < 0) return std::nullopt;
  // Reject "blk.01." so that one HF name has exactly one GGUF spelling.
  if (dot > 1 && name[0] == '0') return std::nullopt;
  const std::string_view suffix = name.substr(dot + 1);
  for (const auto& [gguf, hf] : kTable)
    if (suffix == gguf) return layer_tensor(layer, hf);
  return std::nullopt;
}

std::optional<std::string> gguf_name_from_hf(std::string_view name) {
  if (name == kEmbedTokens) return std::string("token_embd.weight");
  if (name == kFinalNorm) return std::string("output_norm.weight");
  if (name == kLmHead) return std::string("output.weight");
  constexpr std::string_view kLayers = "model.layers.";
  if (!name.starts_with(kLayers)) return std::nullopt;
  name.remove_prefix(kLayers.size());
  const size_t dot = name.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot > 6) return std::nullopt;
  int layer = 0;
  const auto [end, ec] = std::from_chars(name.data(), name.data() + dot, layer);
  if (ec != std::errc() || end != name.data() + dot || layer < 0) return std::nullopt;
  if (dot > 1 && name[0] == '0') return std::nullopt;
  const std::string_view suffix = name.substr(dot + 1);
  for (const auto& [gguf, hf] : kTable)
    if (suffix == hf) return "blk." + std::to_string(layer) + "." + std::string(gguf);
  return std::nullopt;
}

bool natural_less(std::string_view a, std::string_view b) {
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (is_digit(a[i]) && is_digit(b[j])) {
      size_t ie = i, je = j;
      while (ie < a.size() && is_digit(a[ie])) ++ie;
      while (je < b.size() && is_digit(b[je])) ++je;
      // Compare digit runs by value: skip leading zeros, then by length, then lexically.
      size_t is = i, js = j;
      while (is + 1 < ie && a[is] == '0') ++is;
      while (js + 1 < je && b[js] == '0') ++js;
      const std::string_view da = a.substr(is, ie - is), db = b.substr(js, je - js);
      if (da.size() != db.size()) return da.size() < db.size();
      if (da != db) return da < db;
      i = ie;
      j = je;
      continue;
    }
    if (a[i] != b[j]) return a[i] < b[j];
    ++i;
    ++j;
  }
  if (a.size() - i != b.size() - j) return a.size() - i < b.size() - j;
  return a < b;  // equal up to leading zeros: fall back to bytes for a strict order
}

}  // namespace lowbit::io
