// SPDX-License-Identifier: MIT
// Element types of stored tensors, with their safetensors names and sizes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace lowbit {

enum class DType : uint8_t {
  f32,
  f16,
  bf16,
  f8_e4m3,  // OCP E4M3FN: max 448, no infinities
  f8_e5m2,  // IEEE-like, max 57344
  i8,
  u8,
  i16,
  u16,
  i32,
  u32,
  i64,
  u64,
  f64,
  boolean,
};

size_t dtype_size(DType dtype);
// The safetensors dtype string ("F32", "BF16", "F8_E4M3", ...).
std::string_view dtype_name(DType dtype);
std::optional<DType> dtype_from_name(std::string_view name);

}  // namespace lowbit
