// SPDX-License-Identifier: MIT
// The built-in scheme table and scheme composition from flags.
#include "quant/scheme.h"

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
  };
  return schemes;
}

const Scheme& find_scheme(std::string_view name) {
  for (const auto& s : builtin_schemes())
    if (s.name == name) return s;
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
