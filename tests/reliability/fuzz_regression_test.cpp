// Replays every input the job-file fuzzer ever crashed on (and the seeds it
// starts from) through the job-file parser: each must parse or be refused
// with diagnostics, never crash, hang or corrupt memory (the sanitizer build
// runs this too). docs/reliability.md says how inputs land here.

#include "config/job_file.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace quiesce;

namespace {

std::vector<std::filesystem::path> files_in(const std::string& dir) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator{dir, ec})
    if (entry.is_regular_file() && entry.path().filename() != "README.md")
      out.push_back(entry.path());
  return out;
}

std::string read(const std::filesystem::path& p) {
  std::ifstream in{p, std::ios::binary};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

} // namespace

TEST_CASE("job file parser survives every fuzzer regression input",
          "[reliability][fuzz]") {
  auto inputs = files_in(QUIESCE_FUZZ_DIR "/regressions");
  for (const auto& p : files_in(QUIESCE_EXAMPLES_DIR))
    if (p.extension() == ".toml")
      inputs.push_back(p);
  REQUIRE_FALSE(inputs.empty());
  for (const auto& p : inputs) {
    INFO(p.string());
    auto text = read(p);
    auto loaded = config::parse_job_file(text, p.filename().string());
    if (!loaded.ok()) {
      // Refused: nothing of it may run, and every problem is named.
      CHECK(loaded.file.jobs.empty());
      for (const auto& e : loaded.errors)
        CHECK_FALSE(e.message.empty());
    }
  }
}
