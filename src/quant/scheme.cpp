// SPDX-License-Identifier: MIT
// The built-in scheme table and scheme composition from flags.
#include "quant/scheme.h"

#include <array>

#include "numerics/trellis_code.h"
#include "quant/ggml_rtn.h"
#include "util/check.h"

namespace lowbit::quant {
namespace {

Scheme affine_scheme(const std::string& name, int bits, int group, bool symmetric,
                     const std::string& what) {
  return {name, QuantFormat::affine(bits, group, symmetric), "rtn", what};
}

}  // namespace

const std::vector<Scheme>& builtin_schemes() {
  static const std::vector<Scheme> schemes = {
      {"f32", QuantFormat::dense(QuantKind::f32), "rtn", "unquantized float32 reference"},
      {"f16", QuantFormat::dense(QuantKind::f16), "rtn", "IEEE half precision weights"},
      {"bf16", QuantFormat::dense(QuantKind::bf16), "rtn", "bfloat16 weights"},
      affine_scheme("w8", 8, kPerChannel, true, "int8 per-channel symmetric, f16 scale"),
      affine_scheme("w4g128", 4, 128, false, "int4 groups of 128, asymmetric, f16 scale+zero"),
      affine_scheme("w4g64", 4, 64, false, "int4 groups of 64, asymmetric, f16 scale+zero"),
      affine_scheme("w4g32", 4, 32, false, "int4 groups of 32, asymmetric, f16 scale+zero"),
      affine_scheme("w4g128-sym", 4, 128, true, "int4 groups of 128, symmetric, f16 scale"),
      affine_scheme("w3g128", 3, 128, false, "int3 groups of 128, asymmetric, f16 scale+zero"),
      affine_scheme("w3g64", 3, 64, false, "int3 groups of 64, asymmetric, f16 scale+zero"),
      affine_scheme("w3g32", 3, 32, false, "int3 groups of 32, asymmetric, f16 scale+zero"),
      affine_scheme("w2g32", 2, 32, false, "int2 groups of 32, asymmetric, f16 scale+zero"),
      {"fp8", QuantFormat::fp8(QuantKind::fp8_e4m3), "rtn",
       "fp8 e4m3 weights, per-channel f32 scale (amax/448)"},
      {"fp8-e5m2", QuantFormat::fp8(QuantKind::fp8_e5m2), "rtn",
       "fp8 e5m2 weights, per-channel f32 scale (amax/57344)"},
      {"nf4", QuantFormat::nf4(64, false), "rtn", "NF4 codebook, blocks of 64, f32 absmax"},
      {"nf4-dq", QuantFormat::nf4(64, true), "rtn",
       "NF4 blocks of 64, absmax double-quantized to 8 bits (QLoRA)"},
      // Weights and activations: the linears run int8 x int8 -> int32 (or round inputs to fp8).
      {"w8a8-naive",
       QuantFormat::affine(8, kPerTensor, true),
       "rtn",
       "int8 per-tensor weights, int8 per-tensor dynamic activations (the failure case)",
       {ActQuantKind::int8_tensor_dynamic}},
      {"w8a8",
       QuantFormat::affine(8, kPerChannel, true),
       "rtn",
       "int8 per-channel weights, int8 dynamic per-token activations",
       {ActQuantKind::int8_token}},
      {"w8a8-static",
       QuantFormat::affine(8, kPerChannel, true),
       "static",
       "int8 per-channel weights, int8 static per-tensor activation scales (needs --calib)",
       {ActQuantKind::int8_tensor_static}},
      {"smoothquant",
       QuantFormat::affine(8, kPerChannel, true),
       "smoothquant",
       "SmoothQuant (--alpha, default 0.5, or auto) folded into the norms, then w8a8 (--calib)",
       {ActQuantKind::int8_token}},
      {"smoothquant-static",
       QuantFormat::affine(8, kPerChannel, true),
       "smoothquant",
       "SmoothQuant, then w8a8-static (static per-tensor activation scales; --calib)",
       {ActQuantKind::int8_tensor_static}},
      {"llm-int8",
       QuantFormat::affine(8, kPerChannel, true),
       "rtn",
       "LLM.int8(): input columns with |x| >= --threshold (6) in f32, the rest int8 per token",
       {ActQuantKind::int8_outlier_split}},
      {"fp8-dynamic",
       QuantFormat::fp8(QuantKind::fp8_e4m3, kPerChannel),
       "rtn",
       "fp8 e4m3 per-channel weights, e4m3 dynamic per-token activations",
       {ActQuantKind::fp8_token}},
      {"fp8-static",
       QuantFormat::fp8(QuantKind::fp8_e4m3, kPerTensor),
       "static",
       "fp8 e4m3 per-tensor weights, e4m3 static per-tensor activation scale (needs --calib)",
       {ActQuantKind::fp8_tensor_static}},
  };
  return schemes;
}

const std::vector<AlgorithmPrefix>& algorithm_prefixes() {
  static const std::vector<AlgorithmPrefix> prefixes = {
      {"gptq",
       "GPTQ: error-compensating column sweep with the calibration inputs' Hessian (also "
       "gptq-nf4)"},
      {"awq", "AWQ: activation-aware per-channel scales and clipping from calibration inputs"},
      {"hqq", "HQQ: calibration-free half-quadratic zero-point fit (asymmetric bases only)"},
  };
  return prefixes;
}

namespace {

// Digits at the front of `s` as a number (and consumes them); nullopt when none or too long.
std::optional<int> take_number(std::string_view& s) {
  size_t n = 0;
  while (n < s.size() && n < 6 && s[n] >= '0' && s[n] <= '9') ++n;
  if (n == 0 || (n < s.size() && s[n] >= '0' && s[n] <= '9')) return std::nullopt;
  int v = 0;
  for (size_t i = 0; i < n; ++i) v = v * 10 + (s[i] - '0');
  s.remove_prefix(n);
  return v;
}

// An integer weight scheme: a built-in affine one, or w<bits>[g<size>|t][-sym|-asym] as
// compose_scheme names it (parsed, composed and checked to name itself).
std::optional<Scheme> integer_scheme(std::string_view name) {
  for (const auto& s : builtin_schemes())
    if (s.name == name)
      return s.format.kind == QuantKind::affine_int && !s.act.enabled() ? std::optional(s)
                                                                        : std::nullopt;
  std::string_view rest = name;
  if (!rest.starts_with('w')) return std::nullopt;
  rest.remove_prefix(1);
  const std::optional<int> bits = take_number(rest);
  if (!bits || *bits < 2 || *bits > 8) return std::nullopt;
  int group = kPerChannel;
  if (rest.starts_with('g')) {
    rest.remove_prefix(1);
    const std::optional<int> g = take_number(rest);
    if (!g || *g <= 0) return std::nullopt;
    group = *g;
  } else if (rest.starts_with('t')) {
    rest.remove_prefix(1);
    group = kPerTensor;
  }
  if (rest != "" && rest != "-sym" && rest != "-asym") return std::nullopt;
  // The name says the symmetry, by compose_scheme's convention: the composition that spells
  // itself exactly as `name` is the one meant (w6 is symmetric, w6-asym and w4g128 are not).
  for (const bool symmetric : {false, true}) {
    Scheme s = compose_scheme(*bits, group, symmetric);
    if (s.name == name) return s;
  }
  return std::nullopt;  // e.g. "w04g128": not the canonical spelling
}

// A trellis scheme: tcq<k>[-l<L>] (k bits per weight, L state bits, default
// kTrellisDefaultStateBits).
std::optional<Scheme> trellis_scheme(std::string_view name) {
  std::string_view rest = name;
  if (!rest.starts_with("tcq")) return std::nullopt;
  rest.remove_prefix(3);
  const std::optional<int> bits = take_number(rest);
  if (!bits) return std::nullopt;
  int state_bits = kTrellisDefaultStateBits;
  if (rest.starts_with("-l")) {
    rest.remove_prefix(2);
    const std::optional<int> l = take_number(rest);
    if (!l) return std::nullopt;
    // One spelling per scheme, so names compare as schemes do.
    LB_CHECK_ARG(*l != kTrellisDefaultStateBits, "scheme '", name, "': ", kTrellisDefaultStateBits,
                 " state bits is the default; write tcq", *bits);
    state_bits = *l;
  }
  if (!rest.empty()) return std::nullopt;
  LB_CHECK_ARG(*bits >= 2 && *bits <= 8 && state_bits > *bits && state_bits <= kTrellisMaxStateBits,
               "scheme '", name, "': tcq<k>[-l<L>] needs k in 2..8 and L in k+1..",
               kTrellisMaxStateBits);
  Scheme s;
  s.name = std::string(name);
  s.format = QuantFormat::trellis(*bits, state_bits);
  s.algorithm = "rtn";
  s.description = concat("trellis-coded (QTIP), ", *bits, " bits/weight, ", state_bits,
                         "-bit state, rotated inputs, f16 row scale; gptq-", name, " with --calib");
  return s;
}

}  // namespace

const std::vector<Scheme>& trellis_schemes() {
  static const std::vector<Scheme> schemes = {*trellis_scheme("tcq2"), *trellis_scheme("tcq3"),
                                              *trellis_scheme("tcq4")};
  return schemes;
}

Scheme find_scheme(std::string_view name) {
  for (const auto& s : builtin_schemes())
    if (s.name == name) return s;
  if (std::optional<Scheme> composed = integer_scheme(name)) return *composed;
  if (std::optional<Scheme> trellis = trellis_scheme(name)) return *trellis;
  if (std::optional<GgmlSchemeInfo> g = find_ggml_scheme(name))
    return {std::string(g->name), g->format, "ggml", std::string(g->description)};
  for (const AlgorithmPrefix& prefix : algorithm_prefixes()) {
    const std::string lead = prefix.algorithm + "-";
    if (!name.starts_with(lead)) continue;
    const std::string_view base_name = name.substr(lead.size());
    bool known_base = false;
    for (const auto& s : builtin_schemes()) known_base = known_base || s.name == base_name;
    // GPTQ also sweeps over the NF4 codebook (its grid is a block absmax, fixed or searched
    // like an integer group's range); double quantization would move the absmax after the
    // sweep has compensated for it, so nf4-dq is not a GPTQ base.
    // GPTQ's sweep also feeds a trellis column coder (quant/gptq_trellis.h).
    std::optional<Scheme> base = prefix.algorithm == "gptq" && base_name == "nf4"
                                     ? find_scheme("nf4")
                                     : integer_scheme(base_name);
    if (!base && prefix.algorithm == "gptq") base = trellis_scheme(base_name);
    LB_CHECK_ARG(base.has_value(), "scheme '", name, "': ", prefix.algorithm,
                 " needs an integer weight scheme after '", lead, "' (w8, w4g128, w3g64-sym, ...",
                 prefix.algorithm == "gptq" ? ", nf4 or tcq<k>)" : ")",
                 known_base ? concat(", and '", base_name, "' is not one") : std::string(),
                 "; run `lowbit schemes` for the list");
    LB_CHECK_ARG(prefix.algorithm != "hqq" || !base->format.symmetric, "scheme '", name,
                 "': hqq fits a zero-point, so it needs an asymmetric base (drop '-sym')");
    Scheme s;
    s.name = std::string(name);
    s.format = base->format;
    s.algorithm = prefix.algorithm;
    s.description = concat(prefix.algorithm, " on ", format_name(s.format));
    return s;
  }
  // llama.cpp types lowbit reads but cannot produce exactly yet: Q2_K and Q3_K (their own
  // super-block layouts).
  static constexpr std::array<std::array<std::string_view, 3>, 2> kNotYet{{
      {"q2_k", "2-bit k-quant super-blocks with 4-bit scales and mins", "q4_k"},
      {"q3_k", "3-bit k-quant super-blocks with a high-bit plane", "q4_k"},
  }};
  for (const auto& [ggml, why, nearest] : kNotYet)
    LB_CHECK_ARG(name != ggml, "scheme '", name, "': llama.cpp's ", ggml,
                 " needs a format lowbit cannot produce exactly yet (", why,
                 "); the nearest scheme is ", nearest);
  throw InvalidArgument(concat("unknown scheme '", name, "'; run `lowbit schemes` for the list"));
}

Scheme compose_scheme(int bits, int group_size, bool symmetric) {
  if (bits == 32) return find_scheme("f32");
  if (bits == 16) return find_scheme("f16");
  LB_CHECK_ARG(bits >= 2 && bits <= 8, "--bits must be 2..8, 16 or 32, got ", bits);
  LB_CHECK_ARG(group_size >= kPerTensor,
               "--group-size must be > 0, 0 (per-channel) or -1 "
               "(per-tensor), got ",
               group_size);
  Scheme s;
  s.format = QuantFormat::affine(bits, group_size, symmetric);
  validate_format(s.format);
  // A composition that equals a built-in scheme is that scheme (--bits 8 --group-size 0
  // --symmetric is w8).
  for (const auto& builtin : builtin_schemes())
    if (builtin.format == s.format) return builtin;
  // The built-in names' convention: groups are asymmetric unless "-sym" says otherwise
  // (w4g128, w4g128-sym), and per-channel is symmetric (w8). A composition says whatever
  // differs from that, so no composed name can be read as a different built-in: per-channel
  // asymmetric is w8-asym, not w8; per-tensor always states its symmetry (w8t-sym, w8t-asym).
  const std::string granularity = group_size == kPerChannel  ? ""
                                  : group_size == kPerTensor ? "t"
                                                             : concat("g", group_size);
  const char* symmetry = group_size > 0              ? (symmetric ? "-sym" : "")
                         : group_size == kPerChannel ? (symmetric ? "" : "-asym")
                                                     : (symmetric ? "-sym" : "-asym");
  s.name = concat("w", bits, granularity, symmetry);
  for (const auto& builtin : builtin_schemes())
    LB_CHECK(builtin.name != s.name, "composed scheme name ", s.name, " is a built-in's");
  s.algorithm = "rtn";
  s.description = concat("composed: ", format_name(s.format));
  return s;
}

double scheme_bits_per_weight(const Scheme& scheme, int64_t rows, int64_t cols) {
  return bits_per_weight(scheme.format, rows, cols);
}

}  // namespace lowbit::quant
