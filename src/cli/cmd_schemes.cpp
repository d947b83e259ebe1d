// SPDX-License-Identifier: MIT
// `lowbit schemes`: every built-in scheme with its bits per weight and a one-line description,
// then the algorithm prefixes (gptq-, awq-, hqq-) that apply to any integer scheme.
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/common.h"
#include "cli/subcommands.h"
#include "quant/ggml_rtn.h"
#include "quant/scheme.h"

namespace lowbit::cli {

void add_schemes_command(CLI::App& app, std::function<int()>& action) {
  auto* cmd = app.add_subcommand("schemes", "List the quantization schemes");
  auto json_out = std::make_shared<bool>(false);
  auto cols = std::make_shared<int64_t>(4096);
  cmd->add_flag("--json", *json_out, "Print one JSON object");
  cmd->add_option("--in-features", *cols, "Row length used for bits per weight")
      ->check(integer_range(1, int64_t{1} << 40));
  cmd->callback([&action, json_out, cols] {
    action = [json_out, cols] {
      const int64_t rows = 4096;
      if (*json_out) {
        nlohmann::json out = {{"in_features", *cols}, {"schemes", nlohmann::json::array()}};
        for (const auto& s : quant::builtin_schemes())
          out["schemes"].push_back(
              {{"scheme", s.name},
               {"format", format_name(s.format)},
               {"bits_per_weight", quant::scheme_bits_per_weight(s, rows, *cols)},
               {"description", s.description}});
        out["ggml_schemes"] = nlohmann::json::array();
        for (const auto& g : quant::ggml_schemes()) {
          const quant::Scheme s = quant::find_scheme(g.name);
          out["ggml_schemes"].push_back(
              {{"scheme", s.name},
               {"format", format_name(s.format)},
               {"bits_per_weight", quant::scheme_bits_per_weight(s, rows, *cols)},
               {"description", s.description}});
        }
        out["trellis_schemes"] = nlohmann::json::array();
        for (const auto& s : quant::trellis_schemes())
          out["trellis_schemes"].push_back(
              {{"scheme", s.name},
               {"format", format_name(s.format)},
               {"bits_per_weight", quant::scheme_bits_per_weight(s, rows, *cols)},
               {"description", s.description}});
        out["algorithm_prefixes"] = nlohmann::json::array();
        for (const auto& p : quant::algorithm_prefixes())
          out["algorithm_prefixes"].push_back({{"pattern", p.algorithm + "-<w>"},
                                               {"algorithm", p.algorithm},
                                               {"description", p.description}});
        std::cout << out.dump(2) << '\n';
        return 0;
      }
      std::printf("%-12s %8s  %s\n", "scheme", "bits/w", "description");
      for (const auto& s : quant::builtin_schemes())
        std::printf("%-12s %8.4f  %s\n", s.name.c_str(),
                    quant::scheme_bits_per_weight(s, rows, *cols), s.description.c_str());
      std::printf("(bits per weight for rows of %lld inputs, scales and zero-points included)\n",
                  static_cast<long long>(*cols));
      std::printf("\nllama.cpp block formats (ggml's own rounding; --format gguf writes them):\n");
      for (const auto& g : quant::ggml_schemes()) {
        const quant::Scheme s = quant::find_scheme(g.name);
        std::printf("%-12s %8.4f  %s\n", s.name.c_str(),
                    quant::scheme_bits_per_weight(s, rows, *cols), s.description.c_str());
      }
      std::printf(
          "\ntrellis-coded schemes (lowbit's own format; tcq<k>-l<L> for another state size, "
          "gptq-tcq<k> with --calib):\n");
      for (const auto& s : quant::trellis_schemes())
        std::printf("%-12s %8.4f  %s\n", s.name.c_str(),
                    quant::scheme_bits_per_weight(s, rows, *cols), s.description.c_str());
      std::printf(
          "\nalgorithm prefixes, for any integer scheme <w> (w8, w4g128, w3g64, or composed "
          "as w<bits>[g<size>|t][-sym]):\n");
      for (const auto& p : quant::algorithm_prefixes())
        std::printf("%-12s %s\n", (p.algorithm + "-<w>").c_str(), p.description.c_str());
      std::printf(
          "e.g. gptq-w4g128, gptq-nf4, awq-w4g32, hqq-w3g64 (same bits per weight as <w>)\n");
      return 0;
    };
  });
}

}  // namespace lowbit::cli
