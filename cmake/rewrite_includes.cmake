# Run by `cmake --install` after the headers are copied: headers include each
# other as "runtime/x.hpp" in the source tree, where the project root is on
# the include path. Installed, only <prefix>/include is on a host's path, so
# the generic folder names (config/, messages/, ...) stay out of the global
# namespace: each project include becomes "quiesce/runtime/x.hpp".
#
# Input: QUIESCE_HEADER_DIR, the installed include/quiesce directory.
file(GLOB_RECURSE _quiesce_headers "${QUIESCE_HEADER_DIR}/*.hpp")
foreach(_header IN LISTS _quiesce_headers)
  file(READ "${_header}" _text)
  string(REGEX REPLACE
    "#include \"(messages|execution|config|actors|runtime)/"
    "#include \"quiesce/\\1/" _text "${_text}")
  file(WRITE "${_header}" "${_text}")
endforeach()
