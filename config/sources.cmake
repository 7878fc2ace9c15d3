# The config library's sources, in one list: config/CMakeLists.txt builds
# them into quiesce_config and tests/fuzz/CMakeLists.txt into the fuzzer's
# instrumented copy, so a new source cannot be missed by either.
set(quiesce_config_sources
  diagnostic.cpp
  duration.cpp
  job_file.cpp
  limits.cpp
  settings.cpp
  size.cpp
  signal.cpp
  summary.cpp
  toml_reader.cpp)
