# Cross-compiles Kestrel for 64-bit ARM Linux with Debian's g++-aarch64-linux-gnu against arm64
# libraries installed through Debian multiarch (/usr/lib/aarch64-linux-gnu), plus the overlay
# that `scripts/install-deps.sh --cross aarch64` unpacks for the -dev packages that cannot be
# co-installed (KESTREL_CROSS_OVERLAY, searched first). Tests run under qemu-user through
# CMAKE_CROSSCOMPILING_EMULATOR. The `aarch64` preset uses this file; docs/porting.md explains it.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

if(NOT DEFINED KESTREL_CROSS_OVERLAY)
  if(DEFINED ENV{KESTREL_CROSS_OVERLAY})
    set(KESTREL_CROSS_OVERLAY "$ENV{KESTREL_CROSS_OVERLAY}")
  else()
    set(KESTREL_CROSS_OVERLAY /opt/kestrel-cross/aarch64-linux-gnu)
  endif()
endif()
set(KESTREL_CROSS_OVERLAY "${KESTREL_CROSS_OVERLAY}" CACHE PATH
    "arm64 files of the -dev packages that are not Multi-Arch: same (install-deps.sh --cross)")
# Config packages (simdjson, yaml-cpp, wabt) in the overlay first, then the multiarch tree.
list(PREPEND CMAKE_PREFIX_PATH "${KESTREL_CROSS_OVERLAY}/usr")
# Programs (bash, python3, wat2wasm) are the build machine's.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)

# pkg-config must see arm64 .pc files only.
set(ENV{PKG_CONFIG_LIBDIR}
    "${KESTREL_CROSS_OVERLAY}/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# qemu-user runs the test programs. Its sysroot (-L) is the multiarch root `/`: the arm64 dynamic
# loader must come from the same glibc as the arm64 libc it loads, and with multiarch that is
# libc6:arm64 (/lib/ld-linux-aarch64.so.1, /lib/aarch64-linux-gnu/libc.so.6). With
# -L /usr/aarch64-linux-gnu the loader would come from libc6-arm64-cross (another Debian build of
# glibc) while libc itself still resolves to the multiarch copy, and threaded programs hang.
# The overlay's shared libraries are found through the build RPATH.
find_program(KESTREL_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static)
if(KESTREL_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${KESTREL_QEMU_AARCH64};-L;/")
endif()

# Ahead-of-time Wasm predicates are compiled at run time by a C compiler for this architecture
# (Debian's triplet name also exists on a native arm64 system).
set(KESTREL_AOT_CC aarch64-linux-gnu-gcc CACHE STRING "C compiler for ahead-of-time Wasm predicates")
