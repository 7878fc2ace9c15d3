#pragma once

// The runtime options of the small in-process runtime tests.

#include "runtime/runtime.hpp"

#include <chrono>
#include <filesystem>

namespace quiesce::test {

/// Returns options for a small runtime: 2 scheduler threads, 2 slots, a 10 s
/// request timeout and a run directory under the temporary directory.
inline runtime_options small_options() {
  runtime_options opts;
  opts.threads = 2;
  opts.slots = 2;
  opts.run_dir
      = (std::filesystem::temp_directory_path() / "quiesce-test-runs").string();
  opts.request_timeout = std::chrono::seconds{10};
  return opts;
}

} // namespace quiesce::test
