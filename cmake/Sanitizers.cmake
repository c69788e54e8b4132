# KEYSAFE_SANITIZE=ON builds everything with ASan + UBSan (CI runs the whole suite this way).
# KEYSAFE_FUZZ=ON (clang only) also instruments everything for libFuzzer
# (-fsanitize=fuzzer-no-link) and adds the fuzz/ targets; it turns KEYSAFE_SANITIZE on.
if(KEYSAFE_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "KEYSAFE_FUZZ needs clang (libFuzzer): -DCMAKE_CXX_COMPILER=clang++")
  endif()
  set(KEYSAFE_SANITIZE ON CACHE BOOL "Build with AddressSanitizer and UndefinedBehaviorSanitizer" FORCE)
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
if(KEYSAFE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
