// SPDX-License-Identifier: MIT
// LB_CHECK: always-on validation that throws a lowbit error; LB_DCHECK: debug-only invariant.
#pragma once

#include <cassert>

#include "util/error.h"

// Throws lowbit::Error (or the given subclass with LB_CHECK_AS) when cond is false.
#define LB_CHECK(cond, ...)                                            \
  do {                                                                 \
    if (!(cond)) throw ::lowbit::Error(::lowbit::concat(__VA_ARGS__)); \
  } while (0)

#define LB_CHECK_AS(ErrorType, cond, ...)                        \
  do {                                                           \
    if (!(cond)) throw ErrorType(::lowbit::concat(__VA_ARGS__)); \
  } while (0)

#define LB_CHECK_FORMAT(cond, ...) LB_CHECK_AS(::lowbit::FormatError, cond, __VA_ARGS__)
#define LB_CHECK_ARG(cond, ...) LB_CHECK_AS(::lowbit::InvalidArgument, cond, __VA_ARGS__)

#ifdef NDEBUG
#define LB_DCHECK(cond) ((void)0)
#else
#define LB_DCHECK(cond) assert(cond)
#endif
