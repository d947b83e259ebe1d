// SPDX-License-Identifier: MIT
// Atomic outputs: write to a temporary name beside the target, then rename over it, so a
// failed job never leaves a half-written file or directory behind.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace lowbit {

// Writes `bytes` to `path` atomically.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

// Streams into `path` atomically: `fill` writes to the temporary file it is given.
void write_file_atomic_with(const std::filesystem::path& path,
                            const std::function<void(std::FILE*)>& fill);

// Builds a whole directory atomically: `fill` populates a fresh temporary directory, which
// then replaces `dir` (an existing `dir` is removed only after `fill` succeeded).
void write_directory_atomic(const std::filesystem::path& dir,
                            const std::function<void(const std::filesystem::path&)>& fill);

// Reads a whole file; throws FormatError naming it when it cannot be read.
std::string read_file(const std::filesystem::path& path);

}  // namespace lowbit
