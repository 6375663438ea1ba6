# BPF objects and skeletons: clang -target bpf -> bpftool gen skeleton.
# vmlinux.h is generated from the running kernel's BTF at build time.
find_program(BPF_CLANG NAMES clang-14 clang REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)
find_program(LLVM_STRIP NAMES llvm-strip-14 llvm-strip)

set(XDPKV_VMLINUX_BTF "/sys/kernel/btf/vmlinux" CACHE FILEPATH "BTF used to generate vmlinux.h")
set(XDPKV_BPF_GEN "${CMAKE_BINARY_DIR}/bpf")
file(MAKE_DIRECTORY "${XDPKV_BPF_GEN}")

if(NOT EXISTS "${XDPKV_VMLINUX_BTF}")
  message(FATAL_ERROR "xdpkv: ${XDPKV_VMLINUX_BTF} is missing: the kernel needs "
          "CONFIG_DEBUG_INFO_BTF=y (Linux >= 5.4) to build BPF objects against it")
endif()

add_custom_command(
  OUTPUT "${XDPKV_BPF_GEN}/vmlinux.h"
  COMMAND "${BPFTOOL}" btf dump file "${XDPKV_VMLINUX_BTF}" format c > "${XDPKV_BPF_GEN}/vmlinux.h.tmp"
  COMMAND ${CMAKE_COMMAND} -E rename "${XDPKV_BPF_GEN}/vmlinux.h.tmp" "${XDPKV_BPF_GEN}/vmlinux.h"
  COMMENT "Generating vmlinux.h from ${XDPKV_VMLINUX_BTF}"
  VERBATIM)
add_custom_target(xdpkv_vmlinux_h DEPENDS "${XDPKV_BPF_GEN}/vmlinux.h")

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
    -I${XDPKV_BPF_GEN} -I${PROJECT_SOURCE_DIR}/xdp/include)

# xdpkv_bpf_object(NAME SOURCE [DEFINES d1 ...] [INCLUDES dir ...] [DEPENDS files...])
# Builds NAME.bpf.o and NAME.skel.h; target NAME_skel carries the include dir.
function(xdpkv_bpf_object name src)
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
  file(GLOB_RECURSE lib_headers CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/xdp/include/*.h")
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
  target_include_directories(${name}_skel INTERFACE "${XDPKV_BPF_GEN}")
endfunction()
