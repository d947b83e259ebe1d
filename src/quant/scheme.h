// SPDX-License-Identifier: MIT
// Named quantization schemes (what `lowbit quantize --scheme` accepts) and their formats.
// The registry is one explicit table in scheme.cpp: "which schemes exist" is one grep.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tensor/quant_format.h"

namespace lowbit::quant {

struct Scheme {
  std::string name;         // "w4g128"
  QuantFormat format;       // the format its linear-layer weights get
  std::string algorithm;    // "rtn" for every scheme of this issue
  std::string description;  // one line for `lowbit schemes`
};

// Every built-in scheme, in display order.
const std::vector<Scheme>& builtin_schemes();

// The scheme called `name`; throws InvalidArgument ("unknown scheme 'x'; run `lowbit schemes`").
const Scheme& find_scheme(std::string_view name);

// A scheme composed from flags: --bits (2..8, 16 = f16, 32 = f32), --group-size (>0, 0 =
// per-channel, -1 = per-tensor), --symmetric. Named like the built-ins ("w4g96-sym").
// Throws InvalidArgument on a combination that is not valid.
Scheme compose_scheme(int bits, int group_size, bool symmetric);

// Theoretical bits per weight of `scheme` on a [rows, cols] linear weight (codes + scales +
// zero-points), equal to what the stored QuantizedTensor reports.
double scheme_bits_per_weight(const Scheme& scheme, int64_t rows, int64_t cols);

}  // namespace lowbit::quant
