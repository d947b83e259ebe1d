// SPDX-License-Identifier: MIT
// The explicit subcommand list.
#include "cli/subcommands.h"

namespace lowbit::cli {

const std::vector<AddSubcommand>& subcommand_registry() {
  static const std::vector<AddSubcommand> registry = {
      add_schemes_command,
  };
  return registry;
}

}  // namespace lowbit::cli
