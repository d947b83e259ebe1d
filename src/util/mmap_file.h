// SPDX-License-Identifier: MIT
// Read-only memory mapping of a whole file; weights are borrowed from it without copies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace lowbit {

class MappedFile {
 public:
  // Maps `path` read-only; throws FormatError naming the file when it cannot be opened.
  static std::shared_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Tells the kernel the bytes [offset, offset+length) will not be needed soon, so pages
  // that were read once (e.g. f32 weights already quantized) leave resident memory.
  void release(size_t offset, size_t length) const;

 private:
  MappedFile() = default;
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace lowbit
