// SPDX-License-Identifier: MIT
// The explicit subcommand list.
#include "cli/subcommands.h"

namespace lowbit::cli {

const std::vector<AddSubcommand>& subcommand_registry() {
  static const std::vector<AddSubcommand> registry = {
      add_demo_command,     add_quantize_command, add_eval_command,     add_sweep_command,
      add_generate_command, add_inspect_command,  add_schemes_command,  add_recommend_command,
      add_synth_command,    add_bench_command,    add_outliers_command,
  };
  return registry;
}

}  // namespace lowbit::cli
