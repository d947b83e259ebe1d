// SPDX-License-Identifier: MIT
#include "cli/outlier_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace lowbit::cli {

namespace {

constexpr int64_t kMaxColumns = 512;  // channels are max-pooled into at most this many cells
constexpr double kCellWidth = 1.6, kRowHeight = 8.0, kLeft = 70.0, kPanelGap = 44.0;

std::string escape(const std::string& s) {
  std::string out;
  for (const char ch : s) {
    if (ch == '<')
      out += "&lt;";
    else if (ch == '>')
      out += "&gt;";
    else if (ch == '&')
      out += "&amp;";
    else
      out += ch;
  }
  return out;
}

// A dark-to-bright ramp (viridis-like) for t in [0, 1].
std::string colour(double t) {
  t = std::clamp(t, 0.0, 1.0);
  const double r = 68 + t * (253 - 68), g = 1 + t * (231 - 1), b = 84 + t * (37 - 84);
  char buf[16];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", static_cast<int>(r), static_cast<int>(g),
                static_cast<int>(b));
  return buf;
}

}  // namespace

std::string outlier_svg(const ptq::ActivationProfile& profile, int64_t n_layers,
                        const std::string& title) {
  // One colour scale over the whole model: log10 of max |x|.
  double lo = 1e30, hi = -1e30;
  for (const auto& p : profile.inputs)
    for (const float v : p.abs_max)
      if (v > 0) {
        lo = std::min(lo, std::log10(static_cast<double>(v)));
        hi = std::max(hi, std::log10(static_cast<double>(v)));
      }
  if (lo > hi) lo = hi = 0;
  const double width = kLeft + kMaxColumns * kCellWidth + 20;
  const double panel_height = static_cast<double>(n_layers) * kRowHeight;
  const double height = 40 + model::kLinearInputs * (panel_height + kPanelGap) + 20;
  std::string svg;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                "font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%%\" "
                "height=\"100%%\" fill=\"white\"/>\n",
                width, height);
  svg += buf;
  std::snprintf(buf, sizeof buf,
                "<text x=\"%.0f\" y=\"18\" font-size=\"14\">%s (colour: log10 max|x|, %.2f to "
                "%.2f)</text>\n",
                kLeft, escape(title).c_str(), lo, hi);
  svg += buf;
  for (int k = 0; k < model::kLinearInputs; ++k) {
    const auto input = static_cast<model::LinearInput>(k);
    const double top = 40 + k * (panel_height + kPanelGap);
    std::snprintf(buf, sizeof buf,
                  "<text x=\"%.0f\" y=\"%.1f\">input of %s (rows: layers 0..%lld)</text>\n", kLeft,
                  top - 6, model::linear_input_name(input), static_cast<long long>(n_layers - 1));
    svg += buf;
    for (const auto& p : profile.inputs) {
      if (p.input != input || p.abs_max.empty()) continue;
      const auto channels = static_cast<int64_t>(p.abs_max.size());
      const int64_t per_cell = (channels + kMaxColumns - 1) / kMaxColumns;
      const double y = top + static_cast<double>(p.layer) * kRowHeight;
      if (p.layer % 5 == 0) {
        std::snprintf(buf, sizeof buf,
                      "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%lld</text>\n", kLeft - 4,
                      y + kRowHeight - 1, static_cast<long long>(p.layer));
        svg += buf;
      }
      for (int64_t c0 = 0, cell = 0; c0 < channels; c0 += per_cell, ++cell) {
        float v = 0;
        for (int64_t j = c0; j < std::min(channels, c0 + per_cell); ++j)
          v = std::max(v, p.abs_max[static_cast<size_t>(j)]);
        const double t =
            v > 0 && hi > lo ? (std::log10(static_cast<double>(v)) - lo) / (hi - lo) : 0.0;
        std::snprintf(
            buf, sizeof buf,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"%s\"/>\n",
            kLeft + static_cast<double>(cell) * kCellWidth * kMaxColumns /
                        static_cast<double>((channels + per_cell - 1) / per_cell),
            y, kCellWidth * kMaxColumns / static_cast<double>((channels + per_cell - 1) / per_cell),
            kRowHeight, colour(t).c_str());
        svg += buf;
      }
    }
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace lowbit::cli
