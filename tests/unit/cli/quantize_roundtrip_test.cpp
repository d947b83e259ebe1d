// SPDX-License-Identifier: MIT
// Every scheme on the real stories260K model: inspect reports the format's theoretical bits per
// weight, quality falls as bits fall, and a saved-then-reloaded checkpoint evaluates
// bit-identically to quantizing in memory.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "quant/scheme.h"
#include "testing/test_data.h"

namespace lowbit::testing {
namespace {

nlohmann::json eval_json(const std::string& model, const std::string& text,
                         const std::string& extra) {
  const CommandResult r = run_lowbit("eval --model " + model + " --text " + text +
                                     " --ctx 256 --max-windows 24 --json -t 2 " + extra);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json::object();
}

TEST(QuantizeRoundTrip, EverySchemeSavesReloadsAndReportsTheoreticalBits) {
  LB_REQUIRE_DATA(bin, "stories260K/stories260K.bin");
  LB_REQUIRE_DATA(text, "eval/tinystories_valid_part1.txt");
  TempDir tmp;
  std::vector<quant::Scheme> schemes = quant::builtin_schemes();
  for (const auto& t : quant::trellis_schemes()) schemes.push_back(t);
  for (const auto& scheme : schemes) {
    SCOPED_TRACE(scheme.name);
    const auto out = tmp.path() / scheme.name;
    // Static activation scales and SmoothQuant calibrate on a few windows of the text.
    const std::string calib =
        scheme.algorithm == "rtn"
            ? std::string()
            : " --calib " + text.string() + " --calib-samples 4 --calib-seq-len 128";
    const CommandResult q = run_lowbit("quantize --model " + bin.string() + " --scheme " +
                                       scheme.name + calib + " --out " + out.string() + " --json");
    ASSERT_EQ(q.exit_code, 0) << q.err;
    const CommandResult ins = run_lowbit("inspect --model " + out.string() + " --json");
    ASSERT_EQ(ins.exit_code, 0) << ins.err;
    const auto j = nlohmann::json::parse(ins.out);
    // All linear layers of stories260K: 5 x (q 64x64, k 32x64, v 32x64, o 64x64, gate/up
    // 172x64, down 64x172); the bits are the format's theory summed over those shapes.
    double bits = 0, weights = 0;
    const int64_t shapes[7][2] = {{64, 64},  {32, 64},  {32, 64}, {64, 64},
                                  {172, 64}, {172, 64}, {64, 172}};
    for (const auto& s : shapes) {
      bits += quant::scheme_bits_per_weight(scheme, s[0], s[1]) * static_cast<double>(s[0] * s[1]);
      weights += static_cast<double>(s[0] * s[1]);
    }
    EXPECT_NEAR(j["bits_per_weight"].get<double>(), bits / weights, 1e-9);
    for (const auto& t : j["tensors"]) {
      if (t["name"].get<std::string>().find("proj") != std::string::npos) {
        EXPECT_EQ(t["format"], format_name(scheme.format)) << t["name"];
      }
    }

    const auto direct = eval_json(bin.string(), text.string(), "--scheme " + scheme.name + calib);
    const auto reloaded = eval_json(out.string(), text.string(), "");
    EXPECT_EQ(direct["ppl"], reloaded["ppl"]);
    EXPECT_EQ(direct["scored_tokens"], reloaded["scored_tokens"]);
    EXPECT_EQ(direct["bits_per_weight"], reloaded["bits_per_weight"]);
  }
}

TEST(QuantizeRoundTrip, KlDivergenceAndPerplexityRiseAsBitsFall) {
  LB_REQUIRE_DATA(bin, "stories260K/stories260K.bin");
  LB_REQUIRE_DATA(text, "eval/tinystories_valid_part1.txt");
  double previous_kld = 0.0, previous_ppl = 0.0;
  for (const char* scheme : {"w8", "w4g32", "w3g32", "w2g32"}) {
    SCOPED_TRACE(scheme);
    const auto j = eval_json(bin.string(), text.string(), std::string("--scheme ") + scheme);
    EXPECT_GT(j["kld"].get<double>(), previous_kld);
    EXPECT_GT(j["ppl"].get<double>(), previous_ppl);
    EXPECT_GT(j["ppl"].get<double>(), j["baseline_ppl"].get<double>() * 0.999);
    previous_kld = j["kld"].get<double>();
    previous_ppl = j["ppl"].get<double>();
  }
}

}  // namespace
}  // namespace lowbit::testing
