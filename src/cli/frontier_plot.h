// SPDX-License-Identifier: MIT
// The size-vs-KL frontier of a scheme sweep as a standalone SVG: x = stored size of every
// tensor (linear scale), y = KL divergence to the base model (log scale), one labelled point
// per scheme, the Pareto front (no other point both smaller and lower) joined by a line.
#pragma once

#include <string>
#include <vector>

namespace lowbit::cli {

struct PlotPoint {
  std::string label;
  double bytes = 0;  // stored bytes of every tensor
  double kld = 0;    // mean KL(base || scheme), nats per token; <= 0 is not drawn
};

// Indices of the points on the Pareto front, in increasing size.
std::vector<size_t> pareto_front(const std::vector<PlotPoint>& points);

// The whole SVG document. Points whose KL is not positive are listed in a note instead.
std::string frontier_svg(const std::vector<PlotPoint>& points, const std::string& title);

}  // namespace lowbit::cli
