// SPDX-License-Identifier: MIT
// Atomic outputs: write to a temporary name beside the target (`.NAME.tmp.PID`), then rename it
// into place, so a failed job never leaves a half-written file or directory behind.
//
// Interruption: temporaries in progress are registered. install_interrupt_cleanup() (called
// first thing in main) starts one cleanup thread and installs a SIGINT / SIGTERM handler that
// only write()s the signal number into a pipe (async-signal-safe; any thread may receive the
// signal, including library threads such as OpenBLAS's that exist before main, so blocking
// the signals with a mask and sigwait() would not cover them). The cleanup thread, reading the
// pipe, is ordinary code: it takes the registry lock for good, removes every registered
// temporary (whole directories, which no async-signal-safe call could do), prints
// "interrupted" and _exit()s with 128 + the signal. Holding the lock means a rename into place
// is either finished or not begun, and the working thread blocks at its next registry call
// instead of racing the cleanup. A run killed without a chance
// to clean up (SIGKILL, power loss) leaves its temporaries; remove_stale_temporaries() removes
// those of dead processes on the next run.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace lowbit {

// Writes `bytes` to `path` atomically.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

// Streams into `path` atomically: `fill` writes to the temporary file it is given.
void write_file_atomic_with(const std::filesystem::path& path,
                            const std::function<void(std::FILE*)>& fill);

// Builds a whole directory atomically: `fill` populates a fresh temporary directory, which
// then takes the place of `dir`. An existing `dir` is replaced only when it is an empty
// directory or `may_replace(dir)` says so; anything else (an ordinary file, a directory of
// other data) is refused with InvalidArgument before `fill` runs. The replacement is one atomic
// exchange of the two directories (renameat2 RENAME_EXCHANGE) where the file system has it.
void write_directory_atomic(
    const std::filesystem::path& dir, const std::function<void(const std::filesystem::path&)>& fill,
    const std::function<bool(const std::filesystem::path&)>& may_replace = {});

// Removes the temporaries (`.NAME.tmp.PID`, `.NAME.tmp.PID.old`) of `target` that processes
// which no longer run left beside it; a `.old` one is the previous `target` and is renamed
// back when `target` itself is missing. Returns one line per path handled, for the caller to
// report. Temporaries of running processes are left alone.
std::vector<std::string> remove_stale_temporaries(const std::filesystem::path& target);

// Installs the SIGINT / SIGTERM handler and starts the thread that cleans up on them (see
// above). Signals the parent process ignores stay ignored. Call once, early in main.
void install_interrupt_cleanup();

// Reads a whole file; throws FormatError naming it when it cannot be read.
std::string read_file(const std::filesystem::path& path);

}  // namespace lowbit
