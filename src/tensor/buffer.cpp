// SPDX-License-Identifier: MIT
// Buffer implementation.
#include "tensor/buffer.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include "util/mmap_file.h"

namespace lowbit {

Buffer Buffer::allocate(size_t bytes) {
  Buffer b;
  if (bytes == 0) return b;
  const size_t rounded = (bytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  if (p == nullptr) throw std::bad_alloc();
  std::memset(p, 0, rounded);
  b.owner_ = std::shared_ptr<void>(p, [](void* q) { std::free(q); });
  b.mutable_ = static_cast<uint8_t*>(p);
  b.data_ = b.mutable_;
  b.size_ = bytes;
  return b;
}

Buffer Buffer::copy_of(const void* data, size_t bytes) {
  Buffer b = allocate(bytes);
  if (bytes > 0) std::memcpy(b.mutable_, data, bytes);
  return b;
}

Buffer Buffer::borrow(std::shared_ptr<const void> owner, const void* data, size_t bytes) {
  Buffer b;
  b.owner_ = std::move(owner);
  b.data_ = static_cast<const uint8_t*>(data);
  b.size_ = bytes;
  return b;
}

Buffer Buffer::borrow_mapped(std::shared_ptr<const MappedFile> file, const void* data,
                             size_t bytes) {
  const MappedFile* mapping = file.get();
  Buffer b = borrow(std::move(file), data, bytes);
  b.mapping_ = mapping;
  return b;
}

void Buffer::release_pages() const {
  if (mapping_ != nullptr && size_ > 0)
    mapping_->release(static_cast<size_t>(data_ - mapping_->data()), size_);
}

uint8_t* Buffer::mutable_data() {
  if (size_ > 0 && !unique()) *this = copy_of(data_, size_);
  return mutable_;
}

}  // namespace lowbit
