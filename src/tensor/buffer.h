// SPDX-License-Identifier: MIT
// Buffer: a byte range that either owns its (64-byte aligned) bytes or borrows them from a
// longer-lived owner such as a memory-mapped file, so checkpoints load without copies.
//
// Copies share bytes (copying a Buffer, a QuantizedTensor or a TensorMap is cheap), so shared
// bytes are immutable: mutable_data() first gives this Buffer its own copy of the bytes when
// they are borrowed or shared with another Buffer (copy-on-write). Writing through one copy
// therefore never changes another, such as the source model a transform started from.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace lowbit {

class MappedFile;

class Buffer {
 public:
  Buffer() = default;
  // Zero-filled owned storage.
  static Buffer allocate(size_t bytes);
  // Owned copy of `bytes`.
  static Buffer copy_of(const void* data, size_t bytes);
  // Borrowed view; `owner` keeps the bytes alive.
  static Buffer borrow(std::shared_ptr<const void> owner, const void* data, size_t bytes);
  // Borrowed view of a memory-mapped file's bytes, which release_pages() can drop.
  static Buffer borrow_mapped(std::shared_ptr<const MappedFile> file, const void* data,
                              size_t bytes);

  const uint8_t* data() const { return data_; }
  // Writable bytes, copied first unless this Buffer is their only owner. Call it before
  // handing the pointer to worker threads (the first call may replace the storage).
  uint8_t* mutable_data();
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // True when the bytes are an allocation of ours (not borrowed from a mapping).
  bool owned() const { return mutable_ != nullptr; }
  // True when no other Buffer shares these bytes: mutable_data() will not copy.
  bool unique() const { return owned() && owner_.use_count() == 1; }

  template <typename T>
  const T* as() const {
    return reinterpret_cast<const T*>(data_);
  }
  template <typename T>
  T* as_mutable() {
    return reinterpret_cast<T*>(mutable_data());
  }
  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  // For bytes borrowed from a mapped file: drops their whole pages from resident memory
  // (a later read faults them in again from the file). Nothing for other buffers. A
  // calibrated run calls it on each block's source weights once the block is done, so
  // resident memory stays at about one block of weights however large the model.
  void release_pages() const;

 private:
  std::shared_ptr<const void> owner_;
  const MappedFile* mapping_ = nullptr;  // set by borrow_mapped; owner_ keeps it alive
  const uint8_t* data_ = nullptr;
  uint8_t* mutable_ = nullptr;
  size_t size_ = 0;
};

}  // namespace lowbit
