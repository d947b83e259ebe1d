// SPDX-License-Identifier: MIT
// MappedFile: the bytes of the file, empty files, errors naming the file, release() keeping
// the contents readable, and a mapping that outlives an atomic replacement of its file.
#include "util/mmap_file.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <string>

#include <unistd.h>

#include "tensor/buffer.h"
#include "testing/test_data.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace lowbit {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

TEST(MappedFile, MapsTheBytesOfTheFile) {
  TempDir tmp;
  std::string bytes(3 * 4096 + 17, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 31 + 7);
  const fs::path p = tmp.path() / "w.bin";
  write_file_atomic(p, bytes);
  const auto f = MappedFile::open(p.string());
  ASSERT_EQ(f->size(), bytes.size());
  EXPECT_EQ(f->path(), p.string());
  EXPECT_EQ(std::memcmp(f->data(), bytes.data(), bytes.size()), 0);
  // release() drops pages from residency; reading them again gives the same bytes.
  f->release(0, f->size());
  f->release(f->size() + 5, 10);  // beyond the end: nothing
  EXPECT_EQ(std::memcmp(f->data(), bytes.data(), bytes.size()), 0);
}

// Resident pages of this process, from /proc/self/statm (file-backed mapped pages count).
long resident_pages() {
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  return resident;
}

// A Buffer borrowed from the mapping drops its pages on release_pages(): resident memory falls
// by about the bytes read, and the bytes read back the same afterwards. Others are unaffected.
TEST(MappedFile, BorrowedBuffersReleaseTheirPages) {
  TempDir tmp;
  const size_t bytes = size_t{32} << 20;
  std::string data(bytes, '\0');
  for (size_t i = 0; i < bytes; i += 4096) data[i] = static_cast<char>(i / 4096);
  const fs::path p = tmp.path() / "big.bin";
  write_file_atomic(p, data);
  const auto f = MappedFile::open(p.string());
  const Buffer b = Buffer::borrow_mapped(f, f->data(), f->size());
  const long page = ::sysconf(_SC_PAGESIZE);
  const long before = resident_pages();
  long sum = 0;
  for (size_t i = 0; i < bytes; i += static_cast<size_t>(page)) sum += b.data()[i];
  const long touched = resident_pages();
  EXPECT_GT(touched - before, static_cast<long>(bytes) / page / 2) << sum;
  b.release_pages();
  EXPECT_LT(resident_pages(), touched - static_cast<long>(bytes) / page / 2);
  EXPECT_EQ(std::memcmp(b.data(), data.data(), bytes), 0);
  Buffer::copy_of(data.data(), 100).release_pages();  // owned: nothing to drop
}

TEST(MappedFile, EmptyFileHasNoBytes) {
  TempDir tmp;
  write_file_atomic(tmp.path() / "empty", "");
  const auto f = MappedFile::open((tmp.path() / "empty").string());
  EXPECT_EQ(f->size(), 0u);
  EXPECT_EQ(f->data(), nullptr);
}

TEST(MappedFile, ErrorsNameTheFile) {
  TempDir tmp;
  const std::string missing = (tmp.path() / "missing.bin").string();
  try {
    MappedFile::open(missing);
    ADD_FAILURE() << "no error";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
  EXPECT_THROW(MappedFile::open(tmp.path().string()), FormatError);  // a directory
}

TEST(MappedFile, MappingSurvivesAtomicReplacementOfItsFile) {
  // Checkpoints are read from mappings while `quantize --force` may replace the file: the
  // rename leaves the mapped (old) inode intact.
  TempDir tmp;
  const fs::path p = tmp.path() / "w.bin";
  write_file_atomic(p, "old bytes");
  const auto f = MappedFile::open(p.string());
  write_file_atomic(p, "new bytes!");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(f->data()), f->size()), "old bytes");
  EXPECT_EQ(read_file(p), "new bytes!");
}

}  // namespace
}  // namespace lowbit
