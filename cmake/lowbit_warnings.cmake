# SPDX-License-Identifier: MIT
# Warning and sanitizer flags shared by every lowbit target.
add_library(lowbit_flags INTERFACE)
target_compile_options(lowbit_flags INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wshadow -Wnon-virtual-dtor>)
if(LOWBIT_WERROR)
  target_compile_options(lowbit_flags INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-Werror>)
endif()
if(LOWBIT_SANITIZE)
  target_compile_options(lowbit_flags INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
    -fno-sanitize-recover=undefined)
  target_link_options(lowbit_flags INTERFACE -fsanitize=address,undefined)
endif()
if(LOWBIT_FUZZ)
  # Coverage feedback for libFuzzer in every library object; the fuzz executables add
  # -fsanitize=fuzzer (libFuzzer's main) themselves. Any UB report aborts, so the fuzzer sees it.
  target_compile_options(lowbit_flags INTERFACE -fsanitize=fuzzer-no-link,address,undefined
    -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(lowbit_flags INTERFACE -fsanitize=address,undefined)
endif()
