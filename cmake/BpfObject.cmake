# strand_bpf_skeleton(NAME name SOURCE file.bpf.c [DEPENDS headers...])
# Compiles a BPF object with clang-14 and generates <name>.skel.h with bpftool.
# -mcpu=v3: 32-bit jumps and ALU (kernel >= 5.1), tighter verifier bounds.
# Creates an INTERFACE target bpf_<name> whose include dir holds the skeleton.
find_program(BPF_CLANG NAMES clang-14 clang REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)
execute_process(COMMAND uname -m OUTPUT_VARIABLE BPF_UNAME_M OUTPUT_STRIP_TRAILING_WHITESPACE)
if(BPF_UNAME_M STREQUAL "x86_64")
  set(BPF_ARCH x86)
elseif(BPF_UNAME_M STREQUAL "aarch64")
  set(BPF_ARCH arm64)
else()
  set(BPF_ARCH ${BPF_UNAME_M})
endif()

function(strand_bpf_skeleton)
  cmake_parse_arguments(B "" "NAME;SOURCE" "DEPENDS" ${ARGN})
  set(out_dir ${CMAKE_BINARY_DIR}/bpf)
  set(obj ${out_dir}/${B_NAME}.bpf.o)
  set(skel ${out_dir}/${B_NAME}.skel.h)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
    COMMAND ${BPF_CLANG} -O2 -g -target bpf -mcpu=v3 -D__TARGET_ARCH_${BPF_ARCH}
            -Wall -Wextra -Werror
            -I${CMAKE_SOURCE_DIR}/datapath/bpf/include
            -I/usr/include/${BPF_UNAME_M}-linux-gnu
            -c ${B_SOURCE} -o ${obj}
    DEPENDS ${B_SOURCE} ${B_DEPENDS}
    COMMENT "BPF ${B_NAME}"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${BPFTOOL} gen skeleton ${obj} name ${B_NAME} > ${skel}
    DEPENDS ${obj}
    COMMENT "skeleton ${B_NAME}"
    VERBATIM)
  add_custom_target(bpf_${B_NAME}_gen DEPENDS ${skel})
  add_library(bpf_${B_NAME} INTERFACE)
  add_dependencies(bpf_${B_NAME} bpf_${B_NAME}_gen)
  target_include_directories(bpf_${B_NAME} INTERFACE ${out_dir})
endfunction()
