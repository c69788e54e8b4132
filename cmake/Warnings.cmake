# Warnings as errors on keysafe's own targets only (never on third-party code).
function(keysafe_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
    -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
    -Wformat=2 -Werror)
  # GCC 12 reports std::string appends inlined at -O2/-O3 as overlapping memcpy
  # (GCC bug 105329, fixed in 13): a false positive inside libstdc++, not in our code.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE -Wno-restrict)
  endif()
endfunction()
