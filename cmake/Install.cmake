# Installation, the CMake package xdpkv (find_package(xdpkv CONFIG)), the
# pkg-config file xdpkv.pc and the Debian package (cpack -G DEB). Included
# from the top CMakeLists.txt after every component, so that the rules for
# all of them are in this one place.
#
#   P/bin                   xdpkv, xdpkv-trafficgen
#   P/include/xdpkv         the kernel-side headers (*.h) and the C++ headers (*.hpp)
#   P/lib                   the static libraries, pkgconfig/xdpkv.pc, cmake/xdpkv/
#   P/share/man/man1        xdpkv.1.gz (docs/man/xdpkv.1)
#   P/share/doc/xdpkv       README.md and docs/*.md
#   P/share/xdpkv/bpf       xdp-dispatcher.o (a libxdp dispatcher, see docs/KERNELS.md)
# BPF programs are embedded in the libraries and tools as skeletons: nothing
# is loaded from the build tree at run time (the dispatcher is libxdp's to load).
include(CMakePackageConfigHelpers)

set(XDPKV_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/xdpkv")

# ---- Headers, tools, documentation ------------------------------------------------
install(DIRECTORY "${XDPKV_BPF_INCLUDE_DIR}/xdpkv" "${PROJECT_SOURCE_DIR}/userspace/include/xdpkv"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}" COMPONENT dev
        FILES_MATCHING PATTERN "*.h" PATTERN "*.hpp")
foreach(tool xdpkv_cli xdpkv-trafficgen)
  if(TARGET ${tool})
    install(TARGETS ${tool} RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT tools)
  endif()
endforeach()
# Compressed, as Debian installs manual pages (gzip -n: no time stamp).
find_program(XDPKV_GZIP gzip REQUIRED)
set(xdpkv_man "${PROJECT_BINARY_DIR}/man/xdpkv.1.gz")
add_custom_command(OUTPUT "${xdpkv_man}"
  COMMAND "${CMAKE_COMMAND}" -E make_directory "${PROJECT_BINARY_DIR}/man"
  COMMAND "${XDPKV_GZIP}" -9 -n -c "${PROJECT_SOURCE_DIR}/docs/man/xdpkv.1" > "${xdpkv_man}"
  DEPENDS "${PROJECT_SOURCE_DIR}/docs/man/xdpkv.1"
  COMMENT "xdpkv.1.gz"
  VERBATIM)
add_custom_target(xdpkv_man ALL DEPENDS "${xdpkv_man}")
install(FILES "${xdpkv_man}" DESTINATION "${CMAKE_INSTALL_MANDIR}/man1" COMPONENT tools)
file(GLOB xdpkv_docs CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/docs/*.md")
install(FILES "${PROJECT_SOURCE_DIR}/README.md" ${xdpkv_docs}
        DESTINATION "${CMAKE_INSTALL_DOCDIR}" COMPONENT doc)
# xdpkv's libxdp dispatcher (xdp/progs/xdp_dispatcher.bpf.c), for a dynamic
# libxdp < 1.5.5 on 6.13+ / 6.12.y kernels: LIBXDP_OBJECT_PATH=P/share/xdpkv/bpf
# (docs/KERNELS.md).
if(TARGET xdpkv_dispatcher_skel_gen)
  add_custom_target(xdpkv_dispatcher ALL)
  add_dependencies(xdpkv_dispatcher xdpkv_dispatcher_skel_gen)
  install(FILES "${XDPKV_BPF_GEN}/xdpkv_dispatcher.bpf.o" RENAME xdp-dispatcher.o
          DESTINATION "${CMAKE_INSTALL_DATADIR}/xdpkv/bpf" COMPONENT tools)
endif()

# ---- Libraries and the exported targets ------------------------------------------
# Public names (xdpkv::NAME) of the targets the package is for.
set(xdpkv_public_targets
  xdpkv_format bpf          # INTERFACE: -I for BPF programs (<xdpkv/xdpkv.bpf.h>)
  xdpkv_cxx_headers headers # INTERFACE: the C++ headers
  xdpkv_codec codec         # View/Builder, hex, JSON (<xdpkv/codec.hpp>); no libbpf
  xdpkv_bpf bpf_util        # libbpf RAII, BPF_PROG_TEST_RUN (<xdpkv/bpf_util.hpp>)
  xdpkv_registry registry   # the key registry (<xdpkv/registry.hpp>); libbpf
  xdpkv_hints hints)        # NIC hints (<xdpkv/hints.hpp>); libbpf

# Every target of this project that the exported ones link, directly or not
# ($<LINK_ONLY:> included: a static library's private dependencies are part of
# its link interface). Imported targets (PkgConfig::*) are left to the config
# file, which must recreate each one: the list is checked below.
function(xdpkv_link_closure out_targets out_imported)
  set(todo ${ARGN})
  set(seen "")
  set(imported "")
  while(todo)
    list(POP_FRONT todo t)
    if(t IN_LIST seen)
      continue()
    endif()
    list(APPEND seen ${t})
    get_target_property(libs ${t} INTERFACE_LINK_LIBRARIES)
    get_target_property(type ${t} TYPE)
    if(NOT type STREQUAL "INTERFACE_LIBRARY")
      get_target_property(own ${t} LINK_LIBRARIES)
      list(APPEND libs ${own})
    endif()
    foreach(l IN LISTS libs)
      string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" l "${l}")
      if(NOT TARGET "${l}")
        continue()
      endif()
      get_target_property(alias "${l}" ALIASED_TARGET)
      if(alias)
        set(l ${alias})
      endif()
      get_target_property(is_imported "${l}" IMPORTED)
      if(is_imported)
        list(APPEND imported "${l}")
      else()
        list(APPEND todo "${l}")
      endif()
    endforeach()
  endwhile()
  list(REMOVE_DUPLICATES imported)
  set(${out_targets} ${seen} PARENT_SCOPE)
  set(${out_imported} ${imported} PARENT_SCOPE)
endfunction()

set(xdpkv_roots "")
while(xdpkv_public_targets)
  list(POP_FRONT xdpkv_public_targets target name)
  if(NOT TARGET ${target})
    message(FATAL_ERROR "xdpkv: cmake/Install.cmake exports ${target}, which no longer exists")
  endif()
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${name})
  if(NOT TARGET xdpkv::${name})
    add_library(xdpkv::${name} ALIAS ${target})
  endif()
  list(APPEND xdpkv_roots ${target})
endwhile()
xdpkv_link_closure(xdpkv_exported xdpkv_imported ${xdpkv_roots})
# What the public targets need besides (skeletons: empty once installed) keeps
# its name without the prefix: xdpkv::reg_skel.
foreach(t IN LISTS xdpkv_exported)
  if(NOT t IN_LIST xdpkv_roots)
    string(REGEX REPLACE "^xdpkv_" "" name ${t})
    set_target_properties(${t} PROPERTIES EXPORT_NAME ${name})
  endif()
endforeach()
# The config file recreates these (xdpkv-config.cmake.in).
set(xdpkv_known_imported PkgConfig::LIBBPF PkgConfig::LIBXDP nlohmann_json::nlohmann_json)
foreach(i IN LISTS xdpkv_imported)
  if(NOT i IN_LIST xdpkv_known_imported)
    # A warning, not an error, so as not to stop the build: the installed
    # package cannot be used until then, which install_consumer reports.
    message(WARNING "xdpkv: an exported library links ${i}: teach "
            "cmake/xdpkv-config.cmake.in to find it and add it to xdpkv_known_imported")
  endif()
endforeach()
install(TARGETS ${xdpkv_exported} EXPORT xdpkvTargets
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT dev)
# The other libraries (network namespaces, traffic, the tracer) are installed
# for linking by name; they are not part of the package's targets. The demo
# (userspace/demo) is not installed: its programs and headers are no API.
foreach(lib xdpkv_net xdpkv_frame xdpkv_traffic xdpkv_trace)
  if(TARGET ${lib} AND NOT lib IN_LIST xdpkv_exported)
    install(TARGETS ${lib} ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT dev)
  endif()
endforeach()

install(EXPORT xdpkvTargets NAMESPACE xdpkv:: FILE xdpkv-targets.cmake
        DESTINATION "${XDPKV_CMAKE_DIR}" COMPONENT dev)
configure_package_config_file("${CMAKE_CURRENT_LIST_DIR}/xdpkv-config.cmake.in"
  "${PROJECT_BINARY_DIR}/xdpkv-config.cmake"
  INSTALL_DESTINATION "${XDPKV_CMAKE_DIR}"
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR)
write_basic_package_version_file("${PROJECT_BINARY_DIR}/xdpkv-config-version.cmake"
  VERSION "${PROJECT_VERSION}" COMPATIBILITY SameMajorVersion)
install(FILES "${PROJECT_BINARY_DIR}/xdpkv-config.cmake"
              "${PROJECT_BINARY_DIR}/xdpkv-config-version.cmake"
        DESTINATION "${XDPKV_CMAKE_DIR}" COMPONENT dev)
# xdpkv_bpf_object() for projects that build their BPF programs like xdpkv does.
install(FILES "${CMAKE_CURRENT_LIST_DIR}/Bpf.cmake" RENAME xdpkvBpf.cmake
        DESTINATION "${XDPKV_CMAKE_DIR}" COMPONENT dev)

# ---- pkg-config ------------------------------------------------------------------
# Relocatable: the prefix is found from the .pc file's own directory.
set(XDPKV_PC_DIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
file(RELATIVE_PATH XDPKV_PC_TO_PREFIX "/prefix/${XDPKV_PC_DIR}" "/prefix")
string(REGEX REPLACE "/$" "" XDPKV_PC_TO_PREFIX "${XDPKV_PC_TO_PREFIX}")
configure_file("${CMAKE_CURRENT_LIST_DIR}/xdpkv.pc.in" "${PROJECT_BINARY_DIR}/xdpkv.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/xdpkv.pc" DESTINATION "${XDPKV_PC_DIR}" COMPONENT dev)

# ---- Debian package (cpack -G DEB in the build directory) ------------------------
set(CPACK_PACKAGE_NAME xdpkv)
set(CPACK_PACKAGE_VENDOR "xdpkv")
set(CPACK_PACKAGE_CONTACT "xdpkv maintainers <xdpkv@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "per-packet key-value store in the XDP metadata area: tools, headers, libraries")
string(CONCAT CPACK_PACKAGE_DESCRIPTION
  "xdpkv keeps typed per-packet values in the XDP metadata area, readable after\n"
  "XDP_REDIRECT, in TC and from AF_XDP; key ids come from a registry in pinned\n"
  "BPF maps. This package holds the xdpkv tool, the traffic generator, the BPF\n"
  "and C++ headers, the static libraries, the CMake package and xdpkv.pc.")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends from the binaries' shared libraries (libbpf1, libxdp1, libelf1,
# zlib1g, the DPDK libraries of xdpkv-trafficgen, libc6, libstdc++6).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# ... and the DPDK drivers xdpkv-trafficgen loads as EAL plugins at run time,
# which no ELF dependency names.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "librte-net-af-xdp23 (>= 22.11), librte-net-af-packet23 (>= 22.11)")
# What building against the headers and the package needs.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS
    "libbpf-dev (>= 1.1), libxdp-dev, nlohmann-json3-dev (>= 3.11), clang, bpftool, pkg-config")
include(CPack)

# The out-of-tree consumer test (tests/install).
if(XDPKV_BUILD_TESTS)
  add_subdirectory("${PROJECT_SOURCE_DIR}/tests/install" "${PROJECT_BINARY_DIR}/tests/install")
endif()
