# keysafe runs as root and handles private keys: every build is a position-independent
# executable with full RELRO (-z relro -z now), a non-executable stack, stack protector (strong)
# and stack clash protection. _FORTIFY_SOURCE needs optimisation and is left out of Debug and of
# sanitizer/fuzz builds (ASan intercepts the same functions the fortified wrappers replace).
# tests/cli/hardening.sh checks the built binary with readelf and compile_commands.json.
include(CheckPIESupported)
check_pie_supported(OUTPUT_VARIABLE pie_problem LANGUAGES CXX)
if(NOT CMAKE_CXX_LINK_PIE_SUPPORTED)
  message(FATAL_ERROR "keysafe is built as a position-independent executable, and this toolchain cannot link one: ${pie_problem}")
endif()
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)

add_compile_options(-fstack-protector-strong -fstack-clash-protection)
add_link_options(-Wl,-z,relro -Wl,-z,now -Wl,-z,noexecstack)

# Level 3 (GCC 12+: also sizes known only at run time) where the compiler has it.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12)
  set(KEYSAFE_FORTIFY_LEVEL 3)
else()
  set(KEYSAFE_FORTIFY_LEVEL 2)
endif()
if(KEYSAFE_SANITIZE)
  set(KEYSAFE_FORTIFIED OFF)
else()
  # Every optimised configuration; the generator expression also covers multi-config builds.
  set(fortify "$<$<NOT:$<CONFIG:Debug>>:-U_FORTIFY_SOURCE;-D_FORTIFY_SOURCE=${KEYSAFE_FORTIFY_LEVEL}>")
  add_compile_options("${fortify}")
  if(CMAKE_BUILD_TYPE STREQUAL "Debug")
    set(KEYSAFE_FORTIFIED OFF)
  else()
    set(KEYSAFE_FORTIFIED ON)
  endif()
endif()
