// SPDX-License-Identifier: MIT
#include "eval/text_file.h"

#include <fstream>
#include <iterator>
#include <system_error>

#include "util/check.h"
#include "util/utf8.h"

namespace lowbit::eval {

std::string read_text_file(const std::filesystem::path& path, std::string_view flag) {
  const std::string name = path.string();
  std::error_code ec;
  // Pipes (`--text <(zcat wiki.txt.gz)`) are read like files; only directories are refused.
  const auto status = std::filesystem::status(path, ec);
  LB_CHECK_ARG(std::filesystem::exists(status), flag, " ", name, ": no such file");
  LB_CHECK_ARG(!std::filesystem::is_directory(status), flag, " ", name,
               ": is a directory, not a text file");
  std::ifstream in(path, std::ios::binary);
  LB_CHECK_ARG(in.good(), flag, " ", name, ": cannot be read");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LB_CHECK_ARG(!in.bad(), flag, " ", name, ": read failed");
  LB_CHECK_FORMAT(!text.empty(), flag, " ", name, ": the file is empty");
  if (const auto bad = first_invalid_utf8(text))
    throw FormatError(concat(flag, " ", name, ": not UTF-8 text (invalid byte 0x", std::hex,
                             static_cast<int>(static_cast<unsigned char>(text[*bad])), std::dec,
                             " at byte offset ", *bad, ")"));
  return text;
}

}  // namespace lowbit::eval
