// SPDX-License-Identifier: MIT
// Strict UTF-8 validation (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace lowbit {

// The byte offset of the first byte that does not start a well-formed UTF-8 sequence, or
// nullopt when all of `text` is well-formed.
std::optional<size_t> first_invalid_utf8(std::string_view text);

}  // namespace lowbit
