// SPDX-License-Identifier: MIT
// DType traits table.
#include "tensor/dtype.h"

#include <array>

namespace lowbit {
namespace {

struct DTypeTraits {
  DType dtype;
  std::string_view name;
  size_t size;
};

constexpr std::array<DTypeTraits, 15> kTraits{{
    {DType::f32, "F32", 4},
    {DType::f16, "F16", 2},
    {DType::bf16, "BF16", 2},
    {DType::f8_e4m3, "F8_E4M3", 1},
    {DType::f8_e5m2, "F8_E5M2", 1},
    {DType::i8, "I8", 1},
    {DType::u8, "U8", 1},
    {DType::i16, "I16", 2},
    {DType::u16, "U16", 2},
    {DType::i32, "I32", 4},
    {DType::u32, "U32", 4},
    {DType::i64, "I64", 8},
    {DType::u64, "U64", 8},
    {DType::f64, "F64", 8},
    {DType::boolean, "BOOL", 1},
}};

}  // namespace

size_t dtype_size(DType dtype) { return kTraits[static_cast<size_t>(dtype)].size; }

std::string_view dtype_name(DType dtype) { return kTraits[static_cast<size_t>(dtype)].name; }

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& t : kTraits)
    if (t.name == name) return t.dtype;
  return std::nullopt;
}

}  // namespace lowbit
