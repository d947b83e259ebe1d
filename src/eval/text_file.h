// SPDX-License-Identifier: MIT
// Reading an evaluation or calibration text: the checks that keep a wrong file from turning
// into a plausible-looking perplexity.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace lowbit::eval {

// The bytes of the UTF-8 text file `path`, given by command-line flag `flag` (for messages).
// Throws InvalidArgument (exit 2) naming the flag when the path is missing, not a regular file
// or unreadable, and FormatError (exit 3) when the file is empty or not UTF-8 (with the byte
// offset of the first bad byte).
std::string read_text_file(const std::filesystem::path& path, std::string_view flag);

}  // namespace lowbit::eval
