# Where a test runs. A test that needs a kernel capability (a name of
# `xdpkv features`: grow_meta, live_frames, ...) runs through
# scripts/run-where.sh: on this host when its kernel allows the capability,
# else in a guest kernel (scripts/guest.sh) that the fixture test guest_up
# boots once for all of them and guest_down stops. The same binary and the
# same assertions either way; a test that can run nowhere fails.
#
#   xdpkv_where_gtest(TARGET CAPS LABEL [ONLY FILTER] [gtest_discover_tests properties...])
#       gtest_discover_tests of TARGET, every test routed by CAPS; with ONLY,
#       the tests of that gtest filter ("A.*:B.c") only, the others on the host
#   xdpkv_where_command(OUT CAPS)
#       OUT = the command prefix for add_test(... COMMAND ${OUT} cmd args...)
#   xdpkv_where_test(NAME...)
#       the fixture for tests added with that prefix
set(XDPKV_RUN_WHERE "${PROJECT_SOURCE_DIR}/scripts/run-where.sh" "${CMAKE_BINARY_DIR}")
# Every capability a routed test may need: guest_up starts the guest when the
# host refuses any of them.
set(XDPKV_WHERE_CAPS "grow_meta,live_frames")

function(xdpkv_where_command out caps)
  set(${out} ${XDPKV_RUN_WHERE} ${caps} -- PARENT_SCOPE)
endfunction()

function(xdpkv_where_test)
  set_tests_properties(${ARGN} PROPERTIES FIXTURES_REQUIRED xdpkv_guest)
endfunction()

function(xdpkv_where_gtest target caps label)
  cmake_parse_arguments(A "" "ONLY" "" ${ARGN})
  set(filter "")
  if(A_ONLY)
    # Each call reads the emulator when it is made: these run as they are.
    gtest_discover_tests(${target} TEST_FILTER "-${A_ONLY}" PROPERTIES LABELS ${label}
                         ${A_UNPARSED_ARGUMENTS} DISCOVERY_TIMEOUT 60)
    set(filter TEST_FILTER "${A_ONLY}")
  endif()
  set_property(TARGET ${target} PROPERTY CROSSCOMPILING_EMULATOR ${XDPKV_RUN_WHERE} ${caps} --)
  # The discovery runs the binary with --gtest_list_tests: run-where.sh runs
  # that on the host whatever the kernel allows.
  gtest_discover_tests(${target} ${filter} PROPERTIES LABELS ${label} FIXTURES_REQUIRED xdpkv_guest
                       ${A_UNPARSED_ARGUMENTS} DISCOVERY_TIMEOUT 60)
endfunction()

if(XDPKV_BUILD_TESTS AND NOT TARGET xdpkv_guest_fixture)
  add_custom_target(xdpkv_guest_fixture)
  add_test(NAME guest_up COMMAND ${XDPKV_RUN_WHERE} ${XDPKV_WHERE_CAPS} --up)
  set_tests_properties(guest_up PROPERTIES FIXTURES_SETUP xdpkv_guest LABELS guest TIMEOUT 900)
  add_test(NAME guest_down COMMAND ${XDPKV_RUN_WHERE} ${XDPKV_WHERE_CAPS} --down)
  set_tests_properties(guest_down PROPERTIES FIXTURES_CLEANUP xdpkv_guest LABELS guest TIMEOUT 60)
endif()
