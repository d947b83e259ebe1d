// SPDX-License-Identifier: MIT
// `lowbit sweep`: one table over many schemes on the same windows, and its frontier plot.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/frontier_plot.h"
#include "testing/test_data.h"

namespace lowbit::testing {
namespace {

TEST(FrontierPlot, ParetoFrontKeepsPointsNoOtherBeatsOnBothAxes) {
  const std::vector<cli::PlotPoint> points = {
      {"a", 100, 0.5}, {"b", 200, 0.1}, {"c", 250, 0.2}, {"d", 300, 0.01}, {"e", 50, 0.0}};
  const std::vector<size_t> front = cli::pareto_front(points);
  // e has KL 0 (not drawable on a log axis); c is beaten by b (smaller and lower).
  EXPECT_EQ(front, (std::vector<size_t>{0, 1, 3}));
  const std::string svg = cli::frontier_svg(points, "t <&>");
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("t &lt;&amp;&gt;"), std::string::npos);
  EXPECT_NE(svg.find("<polyline"), std::string::npos);
  EXPECT_NE(svg.find("not drawn (KL 0): e"), std::string::npos);
  for (const char* label : {">a<", ">b<", ">c<", ">d<"})
    EXPECT_NE(svg.find(label), std::string::npos) << label;
}

TEST(SweepCli, TableAndPlotOverTheSameWindows) {
  LB_REQUIRE_DATA(bin, "stories260K/stories260K.bin");
  LB_REQUIRE_DATA(text, "eval/tinystories_valid_part1.txt");
  TempDir tmp;
  const auto plot = tmp.path() / "frontier.svg";
  const CommandResult r =
      run_lowbit("sweep --model " + bin.string() + " --text " + text.string() +
                 " --schemes w8,w4g32,w2g32 --ctx 128 --chunks 6 --protocol llamacpp -t 2 --plot " +
                 plot.string() + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["rows"].size(), 4u);
  EXPECT_EQ(j["windows"], 6);
  const auto& base = j["rows"][0];
  EXPECT_EQ(base["scheme"], "base");
  EXPECT_EQ(base["kld"], 0.0);
  EXPECT_EQ(base["top1_agreement"], 1.0);
  double previous_kld = 0, previous_bits = 64;
  for (size_t i = 1; i < 4; ++i) {
    const auto& row = j["rows"][i];
    EXPECT_GT(row["kld"].get<double>(), previous_kld) << row["scheme"];
    EXPECT_LT(row["bits_per_weight"].get<double>(), previous_bits) << row["scheme"];
    EXPECT_GT(row["ppl"].get<double>(), 0.99 * base["ppl"].get<double>());
    previous_kld = row["kld"].get<double>();
    previous_bits = row["bits_per_weight"].get<double>();
  }
  // Each row equals `eval --scheme` on the same windows.
  const CommandResult e =
      run_lowbit("eval --model " + bin.string() + " --text " + text.string() +
                 " --scheme w4g32 --ctx 128 --chunks 6 --protocol llamacpp -t 2 --json");
  ASSERT_EQ(e.exit_code, 0) << e.err;
  const auto ej = nlohmann::json::parse(e.out);
  EXPECT_DOUBLE_EQ(ej["ppl"].get<double>(), j["rows"][2]["ppl"].get<double>());
  EXPECT_NEAR(ej["kld"].get<double>(), j["rows"][2]["kld"].get<double>(),
              1e-5 * ej["kld"].get<double>());
  EXPECT_EQ(ej["bytes"], j["rows"][2]["bytes"]);

  std::ifstream in(plot);
  std::stringstream svg;
  svg << in.rdbuf();
  for (const char* label : {">w8<", ">w4g32<", ">w2g32<", "</svg>"})
    EXPECT_NE(svg.str().find(label), std::string::npos) << label;
}

TEST(SweepCli, BadSchemeOrPlotNameFailsBeforeAnyWork) {
  LB_REQUIRE_DATA(bin, "stories260K/stories260K.bin");
  LB_REQUIRE_DATA(text, "eval/tinystories_valid_part1.txt");
  const std::string base = "sweep --model " + bin.string() + " --text " + text.string();
  expect_one_line_error(run_lowbit(base + " --schemes w8,w5x7"), 2, "w5x7");
  expect_one_line_error(run_lowbit(base + " --plot out.png"), 2, "--plot");
}

}  // namespace
}  // namespace lowbit::testing
