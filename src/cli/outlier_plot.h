// SPDX-License-Identifier: MIT
// The `lowbit outliers --plot` SVG: one heat map per linear input kind (rows = layers, columns
// = channels, colour = log10 max |x|), so channels that are large in every layer stand out as
// bright vertical lines. Plain SVG text, no dependency.
#pragma once

#include <string>

#include "ptq/activation_profile.h"

namespace lowbit::cli {

std::string outlier_svg(const ptq::ActivationProfile& profile, int64_t n_layers,
                        const std::string& title);

}  // namespace lowbit::cli
