// SPDX-License-Identifier: MIT
#include "cli/frontier_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace lowbit::cli {

namespace {

constexpr double kWidth = 900, kHeight = 600;
constexpr double kLeft = 90, kRight = 30, kTop = 60, kBottom = 70;

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string escape(const std::string& s) {
  std::string out;
  for (const char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Round numbers covering [lo, hi] for a linear axis: about `n` steps of 1, 2 or 5 x 10^k.
std::vector<double> linear_ticks(double lo, double hi, int n) {
  const double raw = (hi - lo) / n;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (const double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * mag) {
      step = m * mag;
      break;
    }
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step) * step; t <= hi + 1e-9 * step; t += step) ticks.push_back(t);
  return ticks;
}

}  // namespace

std::vector<size_t> pareto_front(const std::vector<PlotPoint>& points) {
  std::vector<size_t> order(points.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::erase_if(order, [&](size_t i) { return !(points[i].kld > 0); });
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return points[a].bytes != points[b].bytes ? points[a].bytes < points[b].bytes
                                              : points[a].kld < points[b].kld;
  });
  std::vector<size_t> front;
  double best = INFINITY;
  for (const size_t i : order) {
    if (points[i].kld < best) {
      front.push_back(i);
      best = points[i].kld;
    }
  }
  return front;
}

std::string frontier_svg(const std::vector<PlotPoint>& points, const std::string& title) {
  std::vector<size_t> drawn;
  std::vector<std::string> not_drawn;
  for (size_t i = 0; i < points.size(); ++i) {
    if (points[i].kld > 0 && std::isfinite(points[i].kld)) {
      drawn.push_back(i);
    } else {
      not_drawn.push_back(points[i].label);
    }
  }
  // Axes: x in MiB with 5% margins; y in log10(KL) padded to whole decades.
  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  for (const size_t i : drawn) {
    const double mib = points[i].bytes / (1024.0 * 1024.0);
    x_lo = std::min(x_lo, mib);
    x_hi = std::max(x_hi, mib);
    y_lo = std::min(y_lo, std::log10(points[i].kld));
    y_hi = std::max(y_hi, std::log10(points[i].kld));
  }
  if (drawn.empty()) x_lo = 0, x_hi = 1, y_lo = -3, y_hi = 0;
  const double x_pad = std::max(0.05 * (x_hi - x_lo), 0.5);
  x_lo = std::max(0.0, x_lo - x_pad);
  x_hi += x_pad;
  y_lo = std::floor(y_lo);
  y_hi = std::ceil(y_hi);
  if (y_hi <= y_lo) y_hi = y_lo + 1;
  const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  const auto px = [&](double mib) { return kLeft + (mib - x_lo) / (x_hi - x_lo) * plot_w; };
  const auto py = [&](double log_kl) { return kTop + (y_hi - log_kl) / (y_hi - y_lo) * plot_h; };

  std::string s;
  s += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fmt("%.0f", kWidth) + "\" height=\"" +
       fmt("%.0f", kHeight) + "\" viewBox=\"0 0 " + fmt("%.0f", kWidth) + " " +
       fmt("%.0f", kHeight) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s += "<text x=\"" + fmt("%.1f", kWidth / 2) + "\" y=\"28\" text-anchor=\"middle\" " +
       "font-size=\"16\">" + escape(title) + "</text>\n";
  // Grid and ticks.
  for (const double t : linear_ticks(x_lo, x_hi, 8)) {
    const std::string x = fmt("%.1f", px(t));
    s += "<line x1=\"" + x + "\" y1=\"" + fmt("%.1f", kTop) + "\" x2=\"" + x + "\" y2=\"" +
         fmt("%.1f", kTop + plot_h) + "\" stroke=\"#e5e5e5\"/>\n";
    s += "<text x=\"" + x + "\" y=\"" + fmt("%.1f", kTop + plot_h + 18) +
         "\" text-anchor=\"middle\">" + fmt("%g", t) + "</text>\n";
  }
  for (double d = y_lo; d <= y_hi + 1e-9; d += 1) {
    const std::string y = fmt("%.1f", py(d));
    s += "<line x1=\"" + fmt("%.1f", kLeft) + "\" y1=\"" + y + "\" x2=\"" +
         fmt("%.1f", kLeft + plot_w) + "\" y2=\"" + y + "\" stroke=\"#d0d0d0\"/>\n";
    s += "<text x=\"" + fmt("%.1f", kLeft - 8) + "\" y=\"" + fmt("%.1f", py(d) + 4) +
         "\" text-anchor=\"end\">" + fmt("%g", std::pow(10.0, d)) + "</text>\n";
    for (int m = 2; m <= 9 && d + 1 <= y_hi + 1e-9; ++m) {  // minor decade lines
      const std::string ym = fmt("%.1f", py(d + std::log10(m)));
      s += "<line x1=\"" + fmt("%.1f", kLeft) + "\" y1=\"" + ym + "\" x2=\"" +
           fmt("%.1f", kLeft + plot_w) + "\" y2=\"" + ym + "\" stroke=\"#f2f2f2\"/>\n";
    }
  }
  s += "<rect x=\"" + fmt("%.1f", kLeft) + "\" y=\"" + fmt("%.1f", kTop) + "\" width=\"" +
       fmt("%.1f", plot_w) + "\" height=\"" + fmt("%.1f", plot_h) +
       "\" fill=\"none\" stroke=\"#333\"/>\n";
  s += "<text x=\"" + fmt("%.1f", kLeft + plot_w / 2) + "\" y=\"" + fmt("%.1f", kHeight - 20) +
       "\" text-anchor=\"middle\">size of all tensors (MiB)</text>\n";
  s += "<text transform=\"translate(24," + fmt("%.1f", kTop + plot_h / 2) +
       ") rotate(-90)\" text-anchor=\"middle\">KL divergence to the base model (nats/token, "
       "log scale)</text>\n";
  // Pareto front, then the points with labels.
  const std::vector<size_t> front = pareto_front(points);
  if (front.size() > 1) {
    s += "<polyline fill=\"none\" stroke=\"#d62728\" stroke-width=\"2\" points=\"";
    for (const size_t i : front)
      s += fmt("%.1f", px(points[i].bytes / (1024.0 * 1024.0))) + "," +
           fmt("%.1f", py(std::log10(points[i].kld))) + " ";
    s += "\"/>\n";
  }
  // Labels are placed greedily so that they do not overlap each other or the points: the first
  // free spot of a list of candidates around the point, with a leader line when it is not next
  // to the point. Box sizes are estimates (7 px per character at 12 px text).
  struct Box {
    double x0, y0, x1, y1;
    bool hits(const Box& o) const { return x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1; }
  };
  std::vector<Box> taken;
  for (const size_t i : drawn) {
    const double x = px(points[i].bytes / (1024.0 * 1024.0)), y = py(std::log10(points[i].kld));
    taken.push_back({x - 6, y - 6, x + 6, y + 6});
  }
  for (const size_t i : drawn) {
    const bool on_front = std::find(front.begin(), front.end(), i) != front.end();
    const double x = px(points[i].bytes / (1024.0 * 1024.0));
    const double y = py(std::log10(points[i].kld));
    s += "<circle cx=\"" + fmt("%.1f", x) + "\" cy=\"" + fmt("%.1f", y) + "\" r=\"5\" fill=\"" +
         (on_front ? "#d62728" : "#1f77b4") + "\"><title>" + escape(points[i].label) + ": " +
         fmt("%.2f MiB", points[i].bytes / (1024.0 * 1024.0)) + ", KL " +
         fmt("%.4g", points[i].kld) + "</title></circle>\n";
    const double w = 7.0 * static_cast<double>(points[i].label.size()), h = 13.0;
    std::vector<std::pair<double, double>> candidates = {
        {x + 8, y - 6}, {x + 8, y + 14}, {x - 8 - w, y - 6}, {x - 8 - w, y + 14}};
    for (int k = 1; k <= 8; ++k) {
      candidates.push_back({x + 14, y - 6 - 14.0 * k});
      candidates.push_back({x + 14, y + 14 + 14.0 * k});
      candidates.push_back({x - 14 - w, y - 6 - 14.0 * k});
      candidates.push_back({x - 14 - w, y + 14 + 14.0 * k});
    }
    size_t pick = 0;
    for (size_t c = 0; c < candidates.size(); ++c) {
      const Box b{candidates[c].first, candidates[c].second - h + 3, candidates[c].first + w,
                  candidates[c].second + 3};
      const bool inside =
          b.x0 >= kLeft && b.x1 <= kLeft + plot_w && b.y0 >= kTop && b.y1 <= kTop + plot_h;
      if (inside &&
          std::none_of(taken.begin(), taken.end(), [&](const Box& t) { return t.hits(b); })) {
        pick = c;
        break;
      }
    }
    const auto [lx, ly] = candidates[pick];
    taken.push_back({lx, ly - h + 3, lx + w, ly + 3});
    if (pick >= 4) {  // away from its point: a leader line to the label's near edge
      const double ex = lx > x ? lx : lx + w;
      s += "<line x1=\"" + fmt("%.1f", x) + "\" y1=\"" + fmt("%.1f", y) + "\" x2=\"" +
           fmt("%.1f", ex) + "\" y2=\"" + fmt("%.1f", ly - 4) + "\" stroke=\"#999\"/>\n";
    }
    s += "<text x=\"" + fmt("%.1f", lx) + "\" y=\"" + fmt("%.1f", ly) + "\">" +
         escape(points[i].label) + "</text>\n";
  }
  std::string note = "red: Pareto front (no scheme both smaller and closer to the base)";
  if (!not_drawn.empty()) {
    note += "; not drawn (KL 0): ";
    for (size_t k = 0; k < not_drawn.size(); ++k) note += (k ? ", " : "") + not_drawn[k];
  }
  s += "<text x=\"" + fmt("%.1f", kLeft) + "\" y=\"" + fmt("%.1f", kTop - 10) +
       "\" font-size=\"11\" fill=\"#555\">" + escape(note) + "</text>\n";
  s += "</svg>\n";
  return s;
}

}  // namespace lowbit::cli
