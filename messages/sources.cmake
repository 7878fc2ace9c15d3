# The messages library's sources, in one list: messages/CMakeLists.txt builds
# them into quiesce_messages and tests/fuzz/CMakeLists.txt into the fuzzer's
# instrumented copy, so a new source cannot be missed by either.
set(quiesce_messages_sources
  messages.cpp
  records.cpp
  result_code.cpp
  status.cpp
  text.cpp)
