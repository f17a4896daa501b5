# The two build helpers every folder uses (STYLE.md rule 11): explicit source lists, no globs.
#
#   kestrel_library(<name> SRCS a.cc b.cc DEPS kestrel::base absl::status)
#     -> static library target kestrel_<name>, alias kestrel::<name>, include root src/.
#   kestrel_test(<name> SRCS foo_test.cc DEPS kestrel::event)
#     -> GoogleTest executable, each TEST registered with CTest.

function(kestrel_library name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_library(kestrel_${name} STATIC ${ARG_SRCS})
  add_library(kestrel::${name} ALIAS kestrel_${name})
  target_include_directories(kestrel_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(kestrel_${name} PRIVATE ${KESTREL_WARNINGS})
  target_link_libraries(kestrel_${name} PUBLIC ${ARG_DEPS})
endfunction()

function(kestrel_test name)
  if(NOT KESTREL_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_compile_options(${name} PRIVATE ${KESTREL_WARNINGS})
  if(KESTREL_FAST_TEST_BUILD AND NOT CMAKE_BUILD_TYPE STREQUAL "Debug")
    # The test programs' own files are compiled at -O1: a third less compile time than -O2/-O3,
    # which CI pays four times (release, ASan, TSan, aarch64). The code under test, the libraries,
    # keeps the build type's optimisation.
    target_compile_options(${name} PRIVATE -O1)
  endif()
  if(KESTREL_UNITY_TESTS)
    # A test program's files compiled 8 to a translation unit: gtest and the headers under test
    # are parsed once per batch, not once per file, which halves the test programs' compile time
    # (CI pays it four times). File-local helpers of one test program therefore need distinct
    # names, as if the files were one.
    set_target_properties(${name} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 8)
  endif()
  target_compile_definitions(${name} PRIVATE
    KESTREL_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    KESTREL_SHARED_DIR="${PROJECT_SOURCE_DIR}/../shared")
  if(CMAKE_CROSSCOMPILING)
    # Run under qemu-user: tests with a wall-time bound give the emulator more room.
    target_compile_definitions(${name} PRIVATE KESTREL_UNDER_EMULATOR=1)
  endif()
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST
    PROPERTIES ENVIRONMENT "KESTREL_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()
