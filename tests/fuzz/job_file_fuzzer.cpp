// libFuzzer target for the job-file loader: every input is parsed as a job
// file and as a runtime file; an accepted file is also summarized. Any crash,
// hang, leak or sanitizer report is a bug. Build and run it with
// tests/fuzz/run (docs/reliability.md); crashes are kept in
// tests/fuzz/regressions/ and replayed by quiesce_reliability_tests.

#include "config/job_file.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto jobs = quiesce::config::parse_job_file(text, "fuzz.toml");
  if (jobs.ok())
    (void)quiesce::config::summarize(jobs.file);
  else if (!jobs.file.jobs.empty())
    __builtin_trap(); // nothing of a refused file may run
  auto rt = quiesce::config::parse_runtime_file(text, "fuzz-runtime.toml");
  if (rt.ok())
    (void)quiesce::config::summarize(rt.file);
  return 0;
}
