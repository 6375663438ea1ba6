# BPF objects and skeletons: clang -target bpf -> bpftool gen skeleton.
# vmlinux.h is generated from the running kernel's BTF at build time.
# Used by xdpkv's own build and installed with the CMake package (as
# xdpkvBpf.cmake, included by xdpkv-config.cmake) so that a project using
# find_package(xdpkv) builds its programs the same way. XDPKV_BPF_INCLUDE_DIR
# is the directory holding xdpkv/xdpkv.bpf.h: set by whoever includes this.
if(NOT XDPKV_BPF_INCLUDE_DIR)
  message(FATAL_ERROR "xdpkv: set XDPKV_BPF_INCLUDE_DIR before including Bpf.cmake")
endif()
# XDPKV_BPF_TOOLS_OPTIONAL (set by xdpkv-config.cmake): a project that only
# links the C++ libraries needs no clang, bpftool or kernel BTF; a missing
# tool is then an error only when xdpkv_bpf_object() is called.
if(XDPKV_BPF_TOOLS_OPTIONAL)
  set(xdpkv_bpf_required "")
else()
  set(xdpkv_bpf_required REQUIRED)
endif()
find_program(BPF_CLANG NAMES clang-14 clang ${xdpkv_bpf_required})
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin ${xdpkv_bpf_required})

set(XDPKV_VMLINUX_BTF "/sys/kernel/btf/vmlinux" CACHE FILEPATH "BTF used to generate vmlinux.h")
set(XDPKV_BPF_GEN "${CMAKE_BINARY_DIR}/bpf")
file(MAKE_DIRECTORY "${XDPKV_BPF_GEN}")

set(XDPKV_BPF_TOOLS_PROBLEM "")
if(NOT EXISTS "${XDPKV_VMLINUX_BTF}")
  set(XDPKV_BPF_TOOLS_PROBLEM "xdpkv: ${XDPKV_VMLINUX_BTF} is missing: the kernel needs "
      "CONFIG_DEBUG_INFO_BTF=y (Linux >= 5.4) to build BPF objects against it")
elseif(NOT BPF_CLANG OR NOT BPFTOOL)
  set(XDPKV_BPF_TOOLS_PROBLEM "xdpkv: building BPF programs needs clang and bpftool "
      "(Debian: clang, bpftool)")
endif()
if(XDPKV_BPF_TOOLS_PROBLEM AND NOT XDPKV_BPF_TOOLS_OPTIONAL)
  message(FATAL_ERROR ${XDPKV_BPF_TOOLS_PROBLEM})
endif()

# A second find_package(xdpkv) in another directory must not define it again.
if(NOT TARGET xdpkv_vmlinux_h AND NOT XDPKV_BPF_TOOLS_PROBLEM)
  add_custom_command(
    OUTPUT "${XDPKV_BPF_GEN}/vmlinux.h"
    COMMAND "${BPFTOOL}" btf dump file "${XDPKV_VMLINUX_BTF}" format c > "${XDPKV_BPF_GEN}/vmlinux.h.tmp"
    COMMAND ${CMAKE_COMMAND} -E rename "${XDPKV_BPF_GEN}/vmlinux.h.tmp" "${XDPKV_BPF_GEN}/vmlinux.h"
    COMMENT "Generating vmlinux.h from ${XDPKV_VMLINUX_BTF}"
    VERBATIM)
  add_custom_target(xdpkv_vmlinux_h DEPENDS "${XDPKV_BPF_GEN}/vmlinux.h")
endif()

# bpf_tracing.h's PT_REGS_* need the target architecture's name.
string(TOLOWER "${CMAKE_SYSTEM_PROCESSOR}" xdpkv_cpu)
if(xdpkv_cpu MATCHES "^(x86_64|amd64|i.86)$")
  set(XDPKV_BPF_ARCH x86)
elseif(xdpkv_cpu MATCHES "^(aarch64|arm64)")
  set(XDPKV_BPF_ARCH arm64)
elseif(xdpkv_cpu MATCHES "^arm")
  set(XDPKV_BPF_ARCH arm)
elseif(xdpkv_cpu MATCHES "^(ppc64|ppc64le|powerpc64)")
  set(XDPKV_BPF_ARCH powerpc)
elseif(xdpkv_cpu MATCHES "^s390")
  set(XDPKV_BPF_ARCH s390)
elseif(xdpkv_cpu MATCHES "^riscv")
  set(XDPKV_BPF_ARCH riscv)
elseif(xdpkv_cpu MATCHES "^loongarch")
  set(XDPKV_BPF_ARCH loongarch)
else()
  message(FATAL_ERROR "xdpkv: no __TARGET_ARCH_ for processor '${CMAKE_SYSTEM_PROCESSOR}'")
endif()

set(XDPKV_BPF_CFLAGS -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_${XDPKV_BPF_ARCH}
    -Wall -Werror -Wno-unused-function
    -I${XDPKV_BPF_GEN} -I${XDPKV_BPF_INCLUDE_DIR})

# xdpkv_bpf_object(NAME SOURCE [DEFINES d1 ...] [INCLUDES dir ...] [DEPENDS files...])
# Builds NAME.bpf.o and NAME.skel.h; target NAME_skel carries the include dir.
function(xdpkv_bpf_object name src)
  if(XDPKV_BPF_TOOLS_PROBLEM)
    message(FATAL_ERROR ${XDPKV_BPF_TOOLS_PROBLEM})
  endif()
  cmake_parse_arguments(ARG "" "" "DEFINES;INCLUDES;DEPENDS" ${ARGN})
  set(obj "${XDPKV_BPF_GEN}/${name}.bpf.o")
  set(skel "${XDPKV_BPF_GEN}/${name}.skel.h")
  set(defs "")
  foreach(d IN LISTS ARG_DEFINES)
    list(APPEND defs "-D${d}")
  endforeach()
  foreach(d IN LISTS ARG_INCLUDES)
    list(APPEND defs "-I${d}")
  endforeach()
  file(GLOB lib_headers CONFIGURE_DEPENDS "${XDPKV_BPF_INCLUDE_DIR}/xdpkv/*.h")
  add_custom_command(
    OUTPUT "${obj}"
    COMMAND "${BPF_CLANG}" ${XDPKV_BPF_CFLAGS} ${defs} -c "${CMAKE_CURRENT_SOURCE_DIR}/${src}" -o "${obj}"
    DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/${src}" ${lib_headers} ${ARG_DEPENDS}
    COMMENT "BPF ${name}.bpf.o"
    VERBATIM)
  add_custom_command(
    OUTPUT "${skel}"
    COMMAND "${BPFTOOL}" gen skeleton "${obj}" name "${name}" > "${skel}.tmp"
    COMMAND ${CMAKE_COMMAND} -E rename "${skel}.tmp" "${skel}"
    DEPENDS "${obj}"
    COMMENT "Skeleton ${name}.skel.h"
    VERBATIM)
  add_custom_target(${name}_skel_gen DEPENDS "${skel}")
  # vmlinux.h comes from a custom command of the top directory: order by target.
  add_dependencies(${name}_skel_gen xdpkv_vmlinux_h)
  add_library(${name}_skel INTERFACE)
  add_dependencies(${name}_skel ${name}_skel_gen)
  # The skeleton is compiled into the library that links this target; an
  # installed library has nothing of it left to include.
  target_include_directories(${name}_skel INTERFACE "$<BUILD_INTERFACE:${XDPKV_BPF_GEN}>")
endfunction()
