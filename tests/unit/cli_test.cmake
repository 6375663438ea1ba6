# CLI test driven by ctest: cmake -DXDPKV=<path to xdpkv> -DWORK=<dir> -P cli_test.cmake
if(NOT XDPKV OR NOT WORK)
  message(FATAL_ERROR "usage: cmake -DXDPKV=... -DWORK=... -P cli_test.cmake")
endif()
file(MAKE_DIRECTORY "${WORK}")
set(failures 0)

# run(NAME RC STDOUT STDERR [INPUT file] [FULL] [EMPTY_LAST] ARGS ...): exact
# stdout/stderr/exit status ("*": any). FULL: stdout is /dev/full (every write
# fails). EMPTY_LAST: an empty argument after ARGS (a list expansion drops it).
function(run name want_rc want_out want_err)
  cmake_parse_arguments(R "FULL;EMPTY_LAST" "INPUT" "ARGS" ${ARGN})
  set(out "")
  set(extra "")
  if(R_INPUT)
    list(APPEND extra INPUT_FILE "${R_INPUT}")
  endif()
  if(R_FULL)
    list(APPEND extra OUTPUT_FILE /dev/full)
  else()
    list(APPEND extra OUTPUT_VARIABLE out)
  endif()
  set(launcher "")
  if(R_EMPTY_LAST)
    set(launcher sh -c "exec \"\$0\" \"\$@\" ''")
  endif()
  execute_process(COMMAND ${launcher} "${XDPKV}" ${R_ARGS} ${extra}
                  RESULT_VARIABLE rc ERROR_VARIABLE err)
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
    string(SUBSTRING "${R_ARGS}" 0 200 shown)  # some arguments are 100 kB long
    message(STATUS "FAIL ${name}: xdpkv ${shown}\n"
                   "  exit ${rc} (want ${want_rc})\n"
                   "  stdout [${out}]\n  want   [${want_out}]\n"
                   "  stderr [${err}]\n  want   [${want_err}]")
    math(EXPR n "${failures} + 1")
    set(failures ${n} PARENT_SCOPE)
  endif()
endfunction()

# same_out(NAME "ARGS A" "ARGS B"): both command lines (;-lists) exit 0 with
# the same non-empty stdout.
function(same_out name a b)
  execute_process(COMMAND "${XDPKV}" ${a} RESULT_VARIABLE rc_a OUTPUT_VARIABLE out_a ERROR_QUIET)
  execute_process(COMMAND "${XDPKV}" ${b} RESULT_VARIABLE rc_b OUTPUT_VARIABLE out_b ERROR_QUIET)
  if(rc_a STREQUAL "0" AND rc_b STREQUAL "0" AND NOT out_a STREQUAL "" AND out_a STREQUAL out_b)
    message(STATUS "ok   ${name}")
  else()
    message(STATUS "FAIL ${name}: 'xdpkv ${a}' (exit ${rc_a}) and 'xdpkv ${b}' (exit ${rc_b}) "
                   "differ:\n[${out_a}]\n[${out_b}]")
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
run(decode_empty 0 "{\"size\": 0, \"store_size\": 0, \"keys\": []}\n" "" ARGS decode 0x)
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

# ---- One rule for an input with no hex at all: "no input", exit 1 (decode and hints decode).
set(no_input_stdin "no input: standard input is empty (an empty metadata area is written 0x)\n")
set(no_input_blank "no input: HEX is blank (an empty metadata area is written 0x)\n")
file(WRITE "${WORK}/empty.hex" "")
file(WRITE "${WORK}/newline.hex" "\n")
run(decode_stdin_empty 1 "" "xdpkv decode: ${no_input_stdin}" INPUT "${WORK}/empty.hex" ARGS decode -)
run(decode_stdin_newline 1 "" "xdpkv decode: ${no_input_stdin}" INPUT "${WORK}/newline.hex" ARGS decode -)
run(decode_blank 1 "" "xdpkv decode: ${no_input_blank}" ARGS decode " ")
run(hints_decode_stdin_empty 1 "" "xdpkv hints: ${no_input_stdin}" INPUT "${WORK}/empty.hex"
    ARGS hints decode -)
run(hints_decode_blank 1 "" "xdpkv hints: ${no_input_blank}" ARGS hints decode " ")

# ---- Bounded input: more than a valid input can be is refused, not read to the end.
string(REPEAT "00" 32769 big_hex)  # 65538 bytes: past kHexInputMax (64 KiB)
file(WRITE "${WORK}/big.hex" "${big_hex}")
run(decode_stdin_too_long 1 ""
    "xdpkv decode: standard input is longer than 65536 bytes, more than a valid input can be (a metadata area is at most 252 bytes)\n"
    INPUT "${WORK}/big.hex" ARGS decode -)
string(REPEAT "${big_hex}" 16 huge)  # 1 MiB + 32 B: past an export's limit
file(WRITE "${WORK}/huge.json" "${huge}")
run(key_import_too_long 1 ""
    "xdpkv key: ${WORK}/huge.json is longer than 1048576 bytes, more than a valid input can be\n"
    ARGS key import "${WORK}/huge.json" --bpffs "${WORK}/no-bpffs")
run(key_import_stdin_too_long 1 ""
    "xdpkv key: standard input is longer than 1048576 bytes, more than a valid input can be\n"
    INPUT "${WORK}/huge.json" ARGS key import - --bpffs "${WORK}/no-bpffs")
run(hints_decode_no_args 2 "" "xdpkv hints: missing HEX argument (or '-' for stdin)\nTry 'xdpkv help hints'.\n"
    ARGS hints decode)
run(hints_decode_stdin_and_args 2 "" "*" ARGS hints decode - 00)

# ---- hints verify: bad command lines are usage errors, before anything is loaded.
run(hints_verify_no_iface 2 "" "*" ARGS hints verify)
run(hints_verify_count_zero 2 "" "*" ARGS hints verify lo --count 0)
run(hints_verify_count_octal_looking 2 "" "*" ARGS hints verify lo --count 0x)
run(hints_verify_short_key 2 "" "xdpkv hints: --key takes 40 bytes of hex (the RSS key 'ethtool -x' shows)\nTry 'xdpkv help hints'.\n"
    ARGS hints verify lo --key 6d5a56da)
run(hints_verify_bad_netns 2 "" "*" ARGS hints verify lo --netns ../x)
run(hints_verify_no_such_device 1 "" "xdpkv hints: device xkvnodev0: No such device\n"
    ARGS hints verify xkvnodev0)
# A control character inside a library's message (here the device name) is escaped.
string(ASCII 27 esc)
run(hints_probe_escapes_control_characters 1 "" "xdpkv hints: device ab\\x1bc: No such device\n"
    ARGS hints probe "ab${esc}c" --no-live)
run(hints_verify_vlan_4095 2 "" "xdpkv hints: VLAN id 4095 is reserved\nTry 'xdpkv help hints'.\n"
    ARGS hints verify lo --vlan 4095)

# ---- hints decode output (JSON shape).
set(hinted "00ca9a3b00000000 81000500 78c1cc5100000705 0000000000000070 0000000000000050")
run(hints_decode_json 0
    "{\"hash\": {\"value\": \"0x51ccc178\", \"type\": \"none\", \"source\": \"software\"}, \"vlan\": {\"proto\": \"0x8100\", \"tci\": 5, \"source\": \"hardware\"}, \"timestamp\": {\"ns\": 1000000000, \"source\": \"software\"}}\n"
    "" ARGS hints decode "${hinted}")
file(WRITE "${WORK}/hinted.hex" "${hinted}\n")
run(hints_decode_json_stdin 0 "*" "" INPUT "${WORK}/hinted.hex" ARGS hints decode -)
run(hints_decode_none 0 "{}\n" "" ARGS hints decode "0000000000000000 0000000000000000")

# ---- Strict numbers, values required, no value for a flag.
run(hints_probe_wait_no_value 2 ""
    "xdpkv hints: option --wait needs a value\nTry 'xdpkv help hints'.\n" ARGS hints probe lo --wait)
run(hints_probe_wait_empty 2 ""
    "xdpkv hints: option --wait needs a value\nTry 'xdpkv help hints'.\n" ARGS hints probe lo --wait=)
run(hints_probe_wait_blank 2 ""
    "xdpkv hints: --wait: ' 5' is not a number (decimal or 0x hex, no sign or blanks)\nTry 'xdpkv help hints'.\n"
    ARGS hints probe lo --wait " 5")
run(hints_probe_wait_sign 2 "" "*" ARGS hints probe lo --wait +5)
run(hints_probe_wait_range 2 ""
    "xdpkv hints: --wait: '600001' is out of range [0, 600000]\nTry 'xdpkv help hints'.\n"
    ARGS hints probe lo --wait 600001)
run(hints_probe_flag_value 2 ""
    "xdpkv hints: option --json takes no value\nTry 'xdpkv help hints'.\n" ARGS hints probe lo --json=1)
run(hints_probe_netns_empty 2 "" "xdpkv hints: --netns: empty value\nTry 'xdpkv help hints'.\n" EMPTY_LAST
    ARGS hints probe lo --netns)
run(hints_probe_netns_path 2 "" "*" ARGS hints probe lo --netns ../x)
run(hints_probe_live_and_no_live 2 "" "*" ARGS hints probe lo --live --no-live)
run(hints_probe_two_ifaces 2 "" "xdpkv hints: unexpected argument 'eth0'\nTry 'xdpkv help hints'.\n"
    ARGS hints probe lo eth0)
run(hints_hash_port_blank 2 ""
    "xdpkv hints: SPORT: ' 5' is not a number (decimal or 0x hex, no sign or blanks)\nTry 'xdpkv help hints'.\n"
    ARGS hints hash 66.9.149.187 161.142.100.80 " 5" 1766)
run(hints_hash_port_sign 2 "" "*" ARGS hints hash 66.9.149.187 161.142.100.80 2794 +1766)
run(hints_hash_port_negative 2 "" "*" ARGS hints hash 66.9.149.187 161.142.100.80 -1 1766)
run(hints_hash_port_range 2 "" "*" ARGS hints hash 66.9.149.187 161.142.100.80 2794 65536)
run(hints_hash_one_port 2 "" "*" ARGS hints hash 66.9.149.187 161.142.100.80 2794)
run(hints_hash_hex_port 0 "0x51ccc178\n" "" ARGS hints hash 66.9.149.187 161.142.100.80 0xaea 1766)
run(hints_unknown_subcommand 2 ""
    "xdpkv hints: unknown subcommand 'frob' (probe, decode, hash or verify)\nTry 'xdpkv help hints'.\n"
    ARGS hints frob)
run(hints_no_subcommand 2 ""
    "xdpkv hints: missing subcommand (probe, decode, hash or verify)\nTry 'xdpkv help hints'.\n" ARGS hints)
# demo stops at its command line (these never reach the BPF or namespace steps).
run(demo_packets_blank 2 ""
    "xdpkv demo: --packets: ' 5' is not a number (decimal or 0x hex, no sign or blanks)\nTry 'xdpkv help demo'.\n"
    ARGS demo --offline --packets " 5")
run(demo_packets_zero 2 "" "*" ARGS demo --offline --packets 0)
run(demo_bpffs_empty 2 "" "xdpkv demo: --bpffs: empty value\nTry 'xdpkv help demo'.\n" EMPTY_LAST
    ARGS demo --offline --bpffs)
run(decode_empty_arg 1 "" "xdpkv decode: ${no_input_blank}" EMPTY_LAST
    ARGS decode)
run(hints_decode_empty_arg 1 "" "xdpkv hints: ${no_input_blank}" EMPTY_LAST
    ARGS hints decode)
run(demo_bpffs_equals_empty 2 "" "xdpkv demo: option --bpffs needs a value\nTry 'xdpkv help demo'.\n"
    ARGS demo --offline --bpffs=)
run(demo_gen_bad 2 "" "xdpkv demo: --gen: 'frob' is not dpdk or socket\nTry 'xdpkv help demo'.\n"
    ARGS demo --gen frob)
run(demo_offline_gen 2 "" "*" ARGS demo --offline --gen socket)
run(help_too_many 2 "" "xdpkv help: unexpected argument 'hints'\nTry 'xdpkv help help'.\n"
    ARGS help decode hints)
run(top_unknown_option 2 "" "xdpkv: unknown option '--frob'\nTry 'xdpkv --help'.\n" ARGS --frob decode)

# ---- Long and hostile values are shortened (64 bytes + "...") and escaped in messages.
string(REPEAT "a" 100000 long)
string(REPEAT "a" 64 long64)
run(long_command 2 "" "xdpkv: unknown command '${long64}...'\nTry 'xdpkv --help'.\n" ARGS "${long}")
string(REPEAT "a" 62 long62)
run(long_option 2 "" "xdpkv decode: unknown option '--${long62}...'\nTry 'xdpkv help decode'.\n"
    ARGS decode "--${long}")
run(long_help 2 "" "xdpkv help: unknown command '${long64}...'\nTry 'xdpkv help help'.\n"
    ARGS help "${long}")
run(long_iface 2 "" "xdpkv hints: IFACE: '${long64}...' is longer than 15 bytes\nTry 'xdpkv help hints'.\n"
    ARGS hints probe "${long}")
run(long_number 2 ""
    "xdpkv demo: --packets: '${long64}...' is not a number (decimal or 0x hex, no sign or blanks)\nTry 'xdpkv help demo'.\n"
    ARGS demo --packets "${long}")
string(ASCII 27 esc)
run(escape_in_message 2 "" "xdpkv: unknown command '\\x1b[31mred'\nTry 'xdpkv --help'.\n" ARGS "${esc}[31mred")

# ---- Every command checks its writes: stdout on /dev/full exits 1 and says so.
set(enospc "cannot write standard output: No space left on device\n")
run(full_decode 1 "" "xdpkv decode: ${enospc}" FULL ARGS decode "${sample}")
run(full_hints_decode 1 "" "xdpkv hints: ${enospc}" FULL ARGS hints decode "${hinted}")
run(full_hints_hash 1 "" "xdpkv hints: ${enospc}" FULL ARGS hints hash 66.9.149.187 161.142.100.80)
run(full_top_help 1 "" "xdpkv: ${enospc}" FULL ARGS --help)
run(full_version 1 "" "xdpkv: ${enospc}" FULL ARGS --version)
run(full_help 1 "" "xdpkv help: ${enospc}" FULL ARGS help)
run(full_help_decode 1 "" "xdpkv decode: ${enospc}" FULL ARGS help decode)
run(full_decode_help 1 "" "xdpkv decode: ${enospc}" FULL ARGS decode --help)
run(full_hints_probe_help 1 "" "xdpkv hints: ${enospc}" FULL ARGS hints probe --help)
run(full_demo_help 1 "" "xdpkv demo: ${enospc}" FULL ARGS demo --help)
# Also a command that prints with printf and forgets to check: run() does.
string(RANDOM LENGTH 12 ALPHABET 0123456789abcdef absent)
run(full_key_ls 1 "" "*" FULL ARGS key ls --bpffs "/sys/fs/bpf/xdpkv-absent-${absent}")

# ---- One help text per command: `xdpkv help CMD` == `xdpkv CMD --help` (and -h, and
# after a subcommand); `xdpkv help` == `xdpkv --help`.
same_out(same_help_top "help" "--help")
foreach(cmd decode demo key hints help)
  same_out(same_help_${cmd} "help;${cmd}" "${cmd};--help")
  same_out(same_help_${cmd}_short "help;${cmd}" "${cmd};-h")
endforeach()
foreach(sub probe decode hash)
  same_out(same_help_hints_${sub} "help;hints" "hints;${sub};--help")
endforeach()
same_out(same_help_wins "help;decode" "decode;--frob;--help")

if(failures GREATER 0)
  message(FATAL_ERROR "${failures} CLI check(s) failed")
endif()
