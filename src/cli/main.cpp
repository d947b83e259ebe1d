// SPDX-License-Identifier: MIT
// lowbit command-line entry point: dispatches subcommands, turns errors into one line + exit code.
#include <iostream>

#include "cli/commands.h"
#include "util/atomic_file.h"
#include "util/error.h"

int main(int argc, char** argv) {
  // Before any thread exists: SIGINT/SIGTERM remove partial outputs (util/atomic_file.h).
  lowbit::install_interrupt_cleanup();
  try {
    return lowbit::cli::run(argc, argv);
  } catch (const lowbit::InvalidArgument& e) {
    std::cerr << "lowbit: error: " << e.what() << '\n';
    return 2;
  } catch (const lowbit::FormatError& e) {
    std::cerr << "lowbit: error: " << e.what() << '\n';
    return 3;
  } catch (const lowbit::Unsupported& e) {
    std::cerr << "lowbit: error: " << e.what() << '\n';
    return 4;
  } catch (const std::bad_alloc&) {
    std::cerr << "lowbit: error: out of memory\n";
    return 5;
  } catch (const std::exception& e) {
    std::cerr << "lowbit: error: " << e.what() << '\n';
    return 1;
  }
}
