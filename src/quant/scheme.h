// SPDX-License-Identifier: MIT
// Named quantization schemes (what `lowbit quantize --scheme` accepts) and their formats.
// The registry is one explicit table in scheme.cpp: "which schemes exist" is one grep.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tensor/activation_quant.h"
#include "tensor/quant_format.h"

namespace lowbit::quant {

struct Scheme {
  std::string name;    // "w4g128"
  QuantFormat format;  // the format its linear-layer weights get
  // "rtn" (built-ins, composed), "gptq", "awq", "hqq", "ggml" (llama.cpp block formats,
  // quant/ggml_rtn.h); W8A8/FP8 schemes: "rtn" (dynamic activations), "static" (activation
  // scales from calibration), "smoothquant".
  std::string algorithm;
  std::string description;  // one line for `lowbit schemes`
  // How the linears quantize their inputs (none for weight-only schemes). Static kinds get
  // their scale from calibration.
  ActivationQuant act = {};
};

// Every built-in scheme, in display order.
const std::vector<Scheme>& builtin_schemes();

// The scheme called `name`: a built-in, a ggml block scheme (q8_0, q4_0, q5_0: algorithm
// "ggml", quant/ggml_rtn.h), an integer scheme named as compose_scheme names it
// (w4g96-sym, w5t-sym, w6, w3g16), or `<algorithm>-<w>` with algorithm gptq, awq or hqq and <w>
// any integer weight scheme: the format of <w> with that algorithm. HQQ needs an asymmetric <w>.
// Throws InvalidArgument ("unknown scheme 'x'; run `lowbit schemes`", or why a calibrated
// name's base is refused).
Scheme find_scheme(std::string_view name);

// The trellis schemes `lowbit schemes` lists (tcq2, tcq3, tcq4); find_scheme also takes
// tcq<k>-l<L> for another state size, and gptq-tcq<k>[-l<L>].
const std::vector<Scheme>& trellis_schemes();

// The algorithms that prefix an integer scheme name, with one line each for `lowbit schemes`.
struct AlgorithmPrefix {
  std::string algorithm;
  std::string description;
};
const std::vector<AlgorithmPrefix>& algorithm_prefixes();

// A scheme composed from flags: --bits (2..8, 16 = f16, 32 = f32), --group-size (>0, 0 =
// per-channel, -1 = per-tensor), --symmetric. Named like the built-ins ("w4g96-sym").
// Throws InvalidArgument on a combination that is not valid.
Scheme compose_scheme(int bits, int group_size, bool symmetric);

// Theoretical bits per weight of `scheme` on a [rows, cols] linear weight (codes + scales +
// zero-points), equal to what the stored QuantizedTensor reports.
double scheme_bits_per_weight(const Scheme& scheme, int64_t rows, int64_t cols);

}  // namespace lowbit::quant
