# strand_add_test(NAME name LABEL unit|netns|bpf|e2e SOURCES ... [LIBS ...] [TIMEOUT s])
# Builds a gtest binary and registers its tests with CTest under one label.
# Privileged labels (netns, bpf, e2e) run serially: they share the kernel.
include(GoogleTest)
function(strand_add_test)
  cmake_parse_arguments(T "" "NAME;LABEL;TIMEOUT" "SOURCES;LIBS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main GTest::gmock Threads::Threads)
  set_target_properties(${T_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  set(props LABELS ${T_LABEL} TIMEOUT ${T_TIMEOUT})
  if(NOT T_LABEL STREQUAL "unit")
    list(APPEND props RUN_SERIAL TRUE)
  endif()
  gtest_discover_tests(${T_NAME}
    TEST_PREFIX "${T_LABEL}."
    DISCOVERY_MODE PRE_TEST
    PROPERTIES ${props})
endfunction()

# strand_add_script_test(NAME name LABEL label COMMAND ... [TIMEOUT s])
# A test driven by a script (e2e, bench harness smoke runs).
function(strand_add_script_test)
  cmake_parse_arguments(T "" "NAME;LABEL;TIMEOUT" "COMMAND" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  add_test(NAME ${T_LABEL}.${T_NAME} COMMAND ${T_COMMAND})
  set_tests_properties(${T_LABEL}.${T_NAME} PROPERTIES LABELS ${T_LABEL} TIMEOUT ${T_TIMEOUT} RUN_SERIAL TRUE
    ENVIRONMENT "STRAND_BIN=${CMAKE_BINARY_DIR}/bin;STRAND_SRC=${CMAKE_SOURCE_DIR}")
endfunction()
