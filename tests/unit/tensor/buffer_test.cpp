// SPDX-License-Identifier: MIT
// Buffer copies share bytes; writing through one copy never changes another (copy-on-write).
#include "tensor/buffer.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <memory>

namespace lowbit {
namespace {

TEST(Buffer, WritingACopyLeavesTheOriginalUnchanged) {
  const uint8_t bytes[4] = {1, 2, 3, 4};
  Buffer a = Buffer::copy_of(bytes, 4);
  EXPECT_TRUE(a.unique());
  Buffer b = a;  // shares a's bytes
  EXPECT_EQ(a.data(), b.data());
  EXPECT_FALSE(a.unique());
  b.mutable_data()[0] = 99;
  EXPECT_EQ(a.data()[0], 1);
  EXPECT_EQ(b.data()[0], 99);
  EXPECT_NE(a.data(), b.data());
  // Both are sole owners now: further writes do not copy again.
  EXPECT_TRUE(a.unique());
  const uint8_t* before = a.data();
  a.mutable_data()[1] = 7;
  EXPECT_EQ(a.data(), before);
  EXPECT_EQ(b.data()[1], 2);
}

TEST(Buffer, WritingABorrowedBufferCopiesItFirst) {
  auto owner = std::make_shared<std::array<uint8_t, 3>>(std::array<uint8_t, 3>{5, 6, 7});
  Buffer view = Buffer::borrow(owner, owner->data(), owner->size());
  EXPECT_FALSE(view.owned());
  view.mutable_data()[2] = 0;
  EXPECT_TRUE(view.owned());
  EXPECT_EQ((*owner)[2], 7);  // the borrowed bytes (a read-only mapping in practice) untouched
  EXPECT_EQ(view.data()[2], 0);
  EXPECT_EQ(view.data()[0], 5);
}

}  // namespace
}  // namespace lowbit
