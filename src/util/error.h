// SPDX-License-Identifier: MIT
// The error types of lowbit; each maps to one CLI exit code (see cli/main.cpp).
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace lowbit {

// Base of every error lowbit throws. The message is one line meant for a user.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// A flag, scheme name or argument that is wrong (exit code 2).
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

// A file that is malformed, truncated or inconsistent (exit code 3).
class FormatError : public Error {
 public:
  using Error::Error;
};

// Valid input that lowbit does not handle (exit code 4).
class Unsupported : public Error {
 public:
  using Error::Error;
};

// Builds a message from any streamable parts: concat("tensor ", name, " has ", n, " rows").
template <typename... Parts>
std::string concat(Parts&&... parts) {
  std::ostringstream out;
  (out << ... << std::forward<Parts>(parts));
  return out.str();
}

}  // namespace lowbit
