// SPDX-License-Identifier: MIT
// Subcommand registry: the one list of what `lowbit` can do.
#include "cli/commands.h"

#include <functional>
#include <vector>

#include "cli/subcommands.h"
#include "util/error.h"
#include "util/log.h"

namespace lowbit::cli {

int run(int argc, char** argv) {
  CLI::App app{"lowbit: post-training quantization for Llama-family models, measured"};
  app.require_subcommand(1);
  app.set_version_flag("--version", concat("lowbit ", LOWBIT_VERSION));
  // Every --help shows each option's default; subcommands inherit both settings below.
  app.option_defaults()->always_capture_default();
  // Global flags (-q) may also follow the subcommand: what it does not know falls to the app.
  app.fallthrough();
  bool quiet = false;
  app.add_flag("-q,--quiet", quiet, "Only results on stdout, no progress on stderr");
  std::function<int()> action;
  for (const auto& add : subcommand_registry()) add(app, action);
  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands({})) known = known || sub->check_name(argv[1]);
    if (!known)
      throw InvalidArgument(concat("unknown command '", argv[1], "'; run `lowbit --help`"));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    throw InvalidArgument(e.what());
  }
  if (quiet) log_level() = LogLevel::quiet;
  return action ? action() : 0;
}

}  // namespace lowbit::cli
