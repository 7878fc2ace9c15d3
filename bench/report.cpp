// Merges the JSON results of several benchmark runs into one report with
// the machine it ran on, and prints them as one table.
//
//   bench_report OUT.json IN.json...

#include "bench/common.hpp"

#include <caf/config.hpp>

#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <sys/utsname.h>
#include <thread>

using namespace quiesce::bench;

namespace {

std::string cpu_model() {
  std::ifstream in{"/proc/cpuinfo"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(colon + 2);
    }
  return "unknown";
}

nlohmann::json machine() {
  utsname u{};
  uname(&u);
  return {{"nproc", std::thread::hardware_concurrency()},
          {"cpu", cpu_model()},
          {"kernel", std::string{u.sysname} + " " + u.release},
          {"compiler", std::string{"GCC "} + __VERSION__},
          {"caf", CAF_VERSION}};
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: bench_report OUT.json IN.json...\n";
    return 2;
  }
  std::vector<result> all;
  for (int i = 2; i < argc; ++i) {
    try {
      auto part = read_json(argv[i]);
      all.insert(all.end(), part.begin(), part.end());
    } catch (const std::exception& e) {
      std::cerr << "skipping " << argv[i] << ": " << e.what() << '\n';
    }
  }
  auto results = nlohmann::json::array();
  for (auto& x : all)
    results.push_back({{"workload", x.workload},
                       {"variant", x.variant},
                       {"figure", x.figure},
                       {"value", x.value},
                       {"unit", x.unit},
                       {"baseline", x.baseline},
                       {"baseline_name", x.baseline_name},
                       {"ratio", x.ratio},
                       {"target", x.target},
                       {"met", x.met},
                       {"size", x.size},
                       {"note", x.note}});
  std::ofstream out{argv[1]};
  out << nlohmann::json{{"machine", machine()}, {"results", results}}.dump(2)
      << '\n';
  print_table(all);
  return out ? 0 : 1;
}
