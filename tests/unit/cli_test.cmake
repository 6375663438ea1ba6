# CLI test driven by ctest: cmake -DXDPKV=<path to xdpkv> -DWORK=<dir> -P cli_test.cmake
if(NOT XDPKV OR NOT WORK)
  message(FATAL_ERROR "usage: cmake -DXDPKV=... -DWORK=... -P cli_test.cmake")
endif()
file(MAKE_DIRECTORY "${WORK}")
set(failures 0)

# run(NAME RC STDOUT STDERR [INPUT file] ARGS ...): exact stdout/stderr/exit status.
function(run name want_rc want_out want_err)
  cmake_parse_arguments(R "" "INPUT" "ARGS" ${ARGN})
  set(extra "")
  if(R_INPUT)
    set(extra INPUT_FILE "${R_INPUT}")
  endif()
  execute_process(COMMAND "${XDPKV}" ${R_ARGS} ${extra}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(ok TRUE)
  if(NOT rc STREQUAL want_rc)
    set(ok FALSE)
  endif()
  if(NOT want_out STREQUAL "*" AND NOT out STREQUAL want_out)
    set(ok FALSE)
  endif()
  if(NOT want_err STREQUAL "*" AND NOT err STREQUAL want_err)
    set(ok FALSE)
  endif()
  if(ok)
    message(STATUS "ok   ${name}")
  else()
    message(STATUS "FAIL ${name}: xdpkv ${R_ARGS}\n"
                   "  exit ${rc} (want ${want_rc})\n"
                   "  stdout [${out}]\n  want   [${want_out}]\n"
                   "  stderr [${err}]\n  want   [${want_err}]")
    math(EXPR n "${failures} + 1")
    set(failures ${n} PARENT_SCOPE)
  endif()
endfunction()

set(sample "0000 0807060504030201 2211 ddccbbaa 2100000000000000 2200000000000000")
set(sample_json [=[{"size": 32, "store_size": 32, "keys": [{"key": 0, "len": 4, "value": "ddccbbaa"}, {"key": 1, "len": 2, "value": "2211"}, {"key": 5, "len": 8, "value": "0807060504030201"}]}]=])

run(decode_valid 0 "${sample_json}\n" "" ARGS decode "${sample}")
run(decode_valid_args 0 "${sample_json}\n" "" ARGS decode 0x0000 0807060504030201 2211 ddccbbaa
    2100000000000000 2200000000000000)
run(decode_u16 0 "{\"size\": 20, \"store_size\": 20, \"keys\": [{\"key\": 0, \"len\": 2, \"value\": \"3412\"}]}\n" ""
    ARGS decode 0x0000341200000000000000000100000000000000)
run(decode_empty 0 "{\"size\": 0, \"store_size\": 0, \"keys\": []}\n" "" ARGS decode " ")
file(WRITE "${WORK}/sample.hex" "${sample}\n")
run(decode_stdin 0 "${sample_json}\n" "" INPUT "${WORK}/sample.hex" ARGS decode -)

run(decode_short 1 ""
    "xdpkv decode: metadata area is 7 bytes: a store needs at least 16 (header)\n"
    ARGS decode 00112233445566)
run(decode_overclaim 1 ""
    "xdpkv decode: header describes a 40-byte store (keys 0:8 1:8 2:4 3:2, 22 value bytes) but the area has 24 bytes\n"
    ARGS decode 0000000000000000 0700000000000000 0b00000000000000)
run(decode_bad_hex 1 "" "xdpkv decode: invalid hex character 'z' at offset 2\n" ARGS decode 00zz)
run(decode_odd_hex 1 "" "xdpkv decode: odd number of hex digits (3) in \"abc\" at offset 0\n" ARGS decode abc)

run(decode_no_args 2 "" "*" ARGS decode)
run(decode_bad_option 2 "" "*" ARGS decode --frob 00)
run(decode_stdin_and_args 2 "" "*" ARGS decode - 00)
run(no_command 2 "" "*")
run(unknown_command 2 "" "xdpkv: unknown command 'frob'\nTry 'xdpkv --help'.\n" ARGS frob)
run(version 0 "xdpkv ${VERSION}\n" "" ARGS --version)
run(help 0 "*" "" ARGS --help)
run(help_decode 0 "*" "" ARGS help decode)
run(decode_help 0 "*" "" ARGS decode --help)
run(help_unknown 2 "" "*" ARGS help frob)

if(failures GREATER 0)
  message(FATAL_ERROR "${failures} CLI check(s) failed")
endif()
