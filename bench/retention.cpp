// Memory of a long-lived head (docs/durability.md, "History and
// retention"): resident memory of a runtime that runs N one-task jobs, in ten
// batches, measured after each batch, with retention 0 (terminal jobs leave
// memory) beside the same run keeping every job (the baseline), in the same
// run. Done twice: in memory (N jobs) and with a journal (N / 5 jobs: the
// journal is slower). The figure is the growth of resident memory from the
// end of the first batch to the end of the last one; flat means a growth
// near 0 whatever N is.
//
//   retention --size 1000000 --json out.json

#include "bench/common.hpp"

#include <iostream>
#include <sstream>

using namespace quiesce;
using namespace quiesce::bench;

namespace {

// Resident memory after each batch, in MiB.
struct curve {
  std::vector<double> mib;
  double seconds = 0;

  double growth() const {
    return mib.empty() ? 0 : mib.back() - mib.front();
  }

  std::string text() const {
    std::ostringstream out;
    out.precision(0);
    out << std::fixed;
    for (size_t i = 0; i < mib.size(); ++i)
      out << (i == 0 ? "" : " ") << mib[i];
    return out.str();
  }
};

// Runs `n` one-task jobs in ten batches on a runtime made with `ropts`;
// returns resident memory after each batch.
curve run(runtime_options ropts, uint64_t n) {
  runtime rt{std::move(ropts)};
  rt.register_work(noop, noop_work());
  curve out;
  stopwatch sw;
  constexpr uint64_t batches = 10;
  uint64_t done = 0;
  for (uint64_t b = 0; b < batches; ++b) {
    auto size = n / batches + (b < n % batches ? 1 : 0);
    // Adds, submits and waits for every job of the batch to finish.
    run_one_task_jobs(rt, size);
    done += size;
    // A request after the last end: the supervisor served every message
    // before it (retirement runs at the end of each).
    rt.list_jobs();
    out.mib.push_back(static_cast<double>(resident_bytes()) / (1 << 20));
    std::cerr << "retention: " << done << " jobs, "
              << static_cast<int>(out.mib.back()) << " MiB" << std::endl;
  }
  out.seconds = sw.seconds();
  return out;
}

} // namespace

int main(int argc, char** argv) {
  auto opts = parse(argc, argv, "resident memory with and without retention");
  if (opts.size == 0)
    opts.size = 1000000;
  auto slots = opts.slots == 0 ? opts.threads : opts.slots;
  report rep{"retention", opts};
  auto measure = [&](const char* what, uint64_t n, bool with_journal) {
    curve kept;
    curve retired;
    {
      scratch_dir dir{"retention"};
      auto ropts = runtime_opts(opts, slots);
      if (with_journal)
        ropts.state_dir = dir.path;
      ropts.job_retention = std::chrono::milliseconds{0};
      retired = run(ropts, n);
    }
    {
      scratch_dir dir{"retention"};
      auto ropts = runtime_opts(opts, slots);
      if (with_journal)
        ropts.state_dir = dir.path;
      kept = run(ropts, n);
    }
    // Flat: at most 5% of what keeping every job grows by.
    auto& r = rep.at_most(std::string{"RSS growth, "} + what, retired.growth(),
                          "MiB", kept.growth(), "every job kept", -1);
    r.note = std::to_string(n) + " one-task jobs in 10 batches; MiB after "
             + "each batch: retention 0: " + retired.text()
             + "; kept: " + kept.text() + "; "
             + std::to_string(static_cast<int>(n / retired.seconds)) + " vs "
             + std::to_string(static_cast<int>(n / kept.seconds)) + " jobs/s";
  };
  measure("in memory", opts.size, false);
  measure("journal", std::max<uint64_t>(10, opts.size / 5), true);
  return rep.finish();
}
