// SPDX-License-Identifier: MIT
// Implementation of atomic file and directory writes.
#include "util/atomic_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "util/error.h"

namespace lowbit {
namespace fs = std::filesystem;

namespace {

fs::path temporary_sibling(const fs::path& path) {
  fs::path parent = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  return parent / concat(".", path.filename().string(), ".tmp.", ::getpid());
}

}  // namespace

void write_file_atomic_with(const fs::path& path, const std::function<void(std::FILE*)>& fill) {
  const fs::path tmp = temporary_sibling(path);
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) throw Error(concat(path.string(), ": cannot write: ", std::strerror(errno)));
  try {
    fill(f);
    if (std::fflush(f) != 0 || std::ferror(f) != 0)
      throw Error(concat(path.string(), ": write failed: ", std::strerror(errno)));
  } catch (...) {
    std::fclose(f);
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
  if (std::fclose(f) != 0) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw Error(concat(path.string(), ": close failed: ", std::strerror(errno)));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw Error(concat(path.string(), ": cannot rename temporary file into place"));
  }
}

void write_file_atomic(const fs::path& path, std::string_view bytes) {
  write_file_atomic_with(path, [&](std::FILE* f) {
    if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size())
      throw Error(concat(path.string(), ": write failed"));
  });
}

void write_directory_atomic(const fs::path& dir, const std::function<void(const fs::path&)>& fill) {
  const fs::path tmp = temporary_sibling(dir);
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) throw Error(concat(dir.string(), ": cannot create directory: ", ec.message()));
  try {
    fill(tmp);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  if (fs::exists(dir)) {
    const fs::path old = temporary_sibling(dir).string() + ".old";
    fs::rename(dir, old, ec);
    if (ec) {
      fs::remove_all(tmp, ec);
      throw Error(concat(dir.string(), ": cannot replace existing output"));
    }
    fs::rename(tmp, dir, ec);
    fs::remove_all(old, ec);
  } else {
    fs::rename(tmp, dir, ec);
  }
  if (ec) {
    fs::remove_all(tmp, ec);
    throw Error(concat(dir.string(), ": cannot move output into place"));
  }
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FormatError(concat(path.string(), ": cannot open"));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace lowbit
