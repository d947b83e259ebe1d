# SPDX-License-Identifier: MIT
# One helper per kind of target. A layer library globs its own folder, so adding a
# source file needs no CMake edit; the allowed dependency arrows are stated in src/CMakeLists.txt.
function(lowbit_add_library layer)
  cmake_parse_arguments(ARG "" "" "DEPS;EXTRA" ${ARGN})
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS
    ${CMAKE_CURRENT_SOURCE_DIR}/${layer}/*.cpp)
  list(FILTER sources EXCLUDE REGEX "/main\\.cpp$")
  if(NOT sources AND NOT ARG_EXTRA)
    # A layer with headers only so far.
    add_library(lowbit_${layer} INTERFACE)
    target_include_directories(lowbit_${layer} INTERFACE ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(lowbit_${layer} INTERFACE lowbit_flags ${ARG_DEPS})
    return()
  endif()
  add_library(lowbit_${layer} STATIC ${sources} ${ARG_EXTRA})
  target_include_directories(lowbit_${layer} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(lowbit_${layer} PUBLIC lowbit_flags ${ARG_DEPS})
endfunction()

# One gtest binary per layer: tests/unit/<layer>/*_test.cpp.
function(lowbit_add_test layer)
  cmake_parse_arguments(ARG "" "" "DEPS;LABELS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/unit/${layer}/*_test.cpp)
  if(NOT sources)
    return()
  endif()
  add_executable(${layer}_tests ${sources})
  target_link_libraries(${layer}_tests PRIVATE lowbit_testing ${ARG_DEPS} GTest::gtest_main GTest::gmock)
  set(labels unit)
  if(ARG_LABELS)
    set(labels ${ARG_LABELS})
  endif()
  gtest_discover_tests(${layer}_tests
    PROPERTIES LABELS "${labels}" ENVIRONMENT "LOWBIT_DATA_DIR=${LOWBIT_DATA_DIR}"
    DISCOVERY_TIMEOUT 60)
endfunction()

function(lowbit_add_bench name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} benchmark::benchmark)
endfunction()
