# `xdpkv demo` end to end (needs root): its key ids come from the registry by
# name, its own registry directory is removed at exit, and packet ids print
# as 0x%016llx (also id 0).
#   cmake -DXDPKV=<xdpkv> -DMODE=offline|netns -P cli_demo_test.cmake
if(NOT XDPKV OR NOT MODE)
  message(FATAL_ERROR "usage: cmake -DXDPKV=... -DMODE=offline|netns -P cli_demo_test.cmake")
endif()
set(failures 0)
# check("CONDITION" WHAT): CONDITION is if() syntax, evaluated as written.
macro(check cond what)
  cmake_language(EVAL CODE "if(${cond})\nset(pass TRUE)\nelse()\nset(pass FALSE)\nendif()")
  if(pass)
    message(STATUS "ok   ${what}")
  else()
    message(STATUS "FAIL ${what}")
    math(EXPR failures "${failures} + 1")
  endif()
endmacro()

if(MODE STREQUAL "offline")
  # A shared registry of this test's own in which ids 0-2 are taken: the demo
  # must get its keys at the ids the registry hands out, not at 0, 1, 2.
  string(RANDOM LENGTH 10 ALPHABET 0123456789abcdef tag)
  set(dir "/sys/fs/bpf/xdpkv-clitest-${tag}")
  foreach(name a b c)
    execute_process(COMMAND "${XDPKV}" key add ${name} 2 --bpffs "${dir}" RESULT_VARIABLE rc
                    OUTPUT_VARIABLE out ERROR_VARIABLE err)
    check("rc EQUAL 0" "key add ${name}: ${out}${err}")
  endforeach()
  execute_process(COMMAND "${XDPKV}" demo --offline --packets 16 --bpffs "${dir}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  execute_process(COMMAND "${XDPKV}" key ls --json --bpffs "${dir}" OUTPUT_VARIABLE ls)
  file(REMOVE_RECURSE "${dir}")
  check("rc EQUAL 0" "demo --offline --bpffs: exit ${rc} ${err}")
  set(ids_re "packet_id=([0-9]+) flow_hash=([0-9]+) ingress=([0-9]+)")
  string(REGEX MATCH "key ids from the registry in ${dir}: ${ids_re}" line "${out}")
  check("NOT line STREQUAL \"\"" "demo names the key ids it took from ${dir}")
  set(pid "${CMAKE_MATCH_1}")
  set(fh "${CMAKE_MATCH_2}")
  set(ing "${CMAKE_MATCH_3}")
  check("NOT pid MATCHES \"^[012]?$\" AND NOT fh MATCHES \"^[012]?$\" AND NOT ing MATCHES \"^[012]?$\""
        "the demo's ids (${pid} ${fh} ${ing}) are not the taken 0-2")
  # The registry holds them, and the packets carry them.
  string(FIND "${ls}" "\"id\": ${pid}, \"name\": \"packet_id\", \"size\": 8" at)
  check("at GREATER -1" "packet_id is registered at ${pid}")
  string(FIND "${out}" "{\"key\": ${pid}, \"len\": 8," at)
  check("at GREATER -1" "decoded packets carry packet_id at key ${pid}")
  string(FIND "${out}" "{\"key\": ${fh}, \"len\": 4," at)
  check("at GREATER -1" "decoded packets carry flow_hash at key ${fh}")
  string(FIND "${out}" "{\"key\": ${ing}, \"len\": 2," at)
  check("at GREATER -1" "decoded packets carry ingress at key ${ing}")

  # Without --bpffs: a registry of the run's own, gone at exit.
  execute_process(COMMAND "${XDPKV}" demo --offline --packets 4 --quiet
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  check("rc EQUAL 0" "demo --offline: exit ${rc} ${err}")
  string(REGEX MATCH "registry in (/sys/fs/bpf/xdpkv-demo-[0-9]+) \\(this run's own" line "${out}")
  set(own "${CMAKE_MATCH_1}")
  check("NOT own STREQUAL \"\"" "demo names its own registry directory")
  if(NOT own STREQUAL "")
    check("NOT EXISTS \"${own}\"" "${own} is removed at exit")
  endif()
elseif(MODE STREQUAL "netns")
  # The LB numbers packets from 0: the first one shown is id 0.
  execute_process(COMMAND "${XDPKV}" demo --packets 20 --show 2 --gen socket
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  check("rc EQUAL 0" "demo: exit ${rc} ${err}")
  string(FIND "${out}" "packet_id=0x0000000000000000 " at)
  check("at GREATER -1" "packet id 0 prints as 0x0000000000000000")
  # Every packet shown: "  packet_id=0x" and 16 hex digits.
  string(REPEAT "[0-9a-f]" 16 hex16)
  string(REGEX MATCHALL "\n  packet_id=[^ ]*" ids "${out}")
  list(LENGTH ids n)
  check("n GREATER 5" "${n} packets shown (2 per path)")
  foreach(i IN LISTS ids)
    string(STRIP "${i}" i)
    check("i MATCHES \"^packet_id=0x${hex16}$\"" "${i} has the form 0x%016llx")
  endforeach()
  string(REGEX MATCH "registry in (/sys/fs/bpf/xdpkv-demo-[0-9]+) \\(this run's own" line "${out}")
  check("NOT CMAKE_MATCH_1 STREQUAL \"\" AND NOT EXISTS \"${CMAKE_MATCH_1}\"" "own registry removed")
else()
  message(FATAL_ERROR "MODE: offline or netns")
endif()

if(failures GREATER 0)
  message(FATAL_ERROR "${failures} demo check(s) failed")
endif()
