#pragma once

// A head (restartable on one state directory) and clients, each a real
// `quiesce` process in one scratch directory, for the durability tests.

#include "support.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace quiesce::test {

using namespace std::chrono_literals;

/// A head on 127.0.0.1 with a state directory, and its clients.
class head_cluster {
public:
  explicit head_cluster(const scratch_dir& dir) : dir_(dir) {
    // nop
  }

  /// Returns the state directory.
  std::string state() const {
    return dir_.path("state");
  }

  /// Starts a head on the state directory (unless not `with_state`; port 0
  /// first, then the port of the first head) with `extra` options; returns
  /// false if it printed no
  /// "listening on" line within the bound.
  bool start_head(std::vector<std::string> extra = {}, bool with_state = true) {
    std::vector<std::string> args{
        "head",           "--dev",
        "--listen",       "127.0.0.1:" + std::to_string(port_),
        "--heartbeat",    "200ms",
        "--node-timeout", "1500ms"};
    if (with_state) {
      args.push_back("--state-dir");
      args.push_back(state());
    }
    args.insert(args.end(), extra.begin(), extra.end());
    heads_.push_back(std::make_unique<child>(dir_, args));
    auto& h = *heads_.back();
    const std::string prefix = "listening on 127.0.0.1:";
    if (!eventually(
            [&] {
              return h.output().find(prefix) != std::string::npos
                     || !h.running();
            },
            20s))
      return false;
    auto out = h.output();
    auto at = out.find(prefix);
    if (at == std::string::npos)
      return false;
    port_ = static_cast<uint16_t>(std::stoul(out.substr(at + prefix.size())));
    return port_ != 0;
  }

  /// Returns the head process started last.
  child& head() {
    return *heads_.back();
  }

  /// Returns "127.0.0.1:PORT".
  std::string address() const {
    return "127.0.0.1:" + std::to_string(port_);
  }

  /// Starts a worker node named `name` with `slots` slots and `extra`
  /// options.
  child& start_node(const std::string& name, int slots,
                    const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{"node",
                                  "--head",
                                  address(),
                                  "--name",
                                  name,
                                  "--slots",
                                  std::to_string(slots),
                                  "--run-dir",
                                  dir_.path("runs-" + name),
                                  "--reconnect-delay",
                                  "100ms",
                                  "--heartbeat",
                                  "200ms",
                                  "--node-timeout",
                                  "1500ms"};
    args.insert(args.end(), extra.begin(), extra.end());
    nodes_.push_back(std::make_unique<child>(dir_, args));
    return *nodes_.back();
  }

  /// Runs a client command against the head.
  exit_info client(std::vector<std::string> args,
                   std::chrono::milliseconds bound = 30s) {
    args.push_back("--head");
    args.push_back(address());
    return run_quiesce(dir_, args, bound);
  }

  /// Runs a client command with --json; returns its document, or null when
  /// it printed none (e.g. the head is gone).
  nlohmann::json client_json(std::vector<std::string> args,
                             std::chrono::milliseconds bound = 30s) {
    args.push_back("--json");
    auto r = client(args, bound);
    auto doc = nlohmann::json::parse(r.out, nullptr, false);
    return doc.is_discarded() ? nlohmann::json{} : doc;
  }

  /// Returns the jobs the head lists, by id (JSON records).
  std::map<int, nlohmann::json> jobs() {
    std::map<int, nlohmann::json> out;
    auto doc = client_json({"list", "jobs"});
    if (doc.is_object() && doc.contains("jobs"))
      for (const auto& j : doc["jobs"])
        out[j["id"].get<int>()] = j;
    return out;
  }

  /// Returns the tasks of `job` (JSON records).
  nlohmann::json tasks(int job) {
    auto doc = client_json({"list", "tasks", std::to_string(job)});
    return doc.is_object() && doc.contains("tasks") ? doc["tasks"]
                                                    : nlohmann::json::array();
  }

  /// Writes the job file `text` and submits it; returns the job ids, or
  /// nothing when the submit was not acknowledged.
  std::vector<int> submit(const std::string& file_name, const std::string& text,
                          std::chrono::milliseconds bound = 30s) {
    auto path = dir_.write(file_name, text);
    auto doc = client_json({"submit", path}, bound);
    std::vector<int> out;
    if (!doc.is_object() || !doc.contains("code") || doc["code"] != "ok")
      return out;
    for (const auto& j : doc["jobs"])
      out.push_back(j["id"].get<int>());
    return out;
  }

private:
  const scratch_dir& dir_;
  uint16_t port_ = 0;
  std::vector<std::unique_ptr<child>> heads_;
  std::vector<std::unique_ptr<child>> nodes_;
};

/// A job file of one job `name`: one assessment of `n` tasks running
/// `/bin/sh -c body`.
inline std::string job_file(const std::string& name, int n,
                            const std::string& body,
                            const std::string& mark = "none") {
  std::string out = "[[job]]\nname = \"" + name
                    + "\"\n\n  [[job.assessment]]\n  name = \"work\"\n";
  for (int i = 1; i <= n; ++i)
    out += "\n    [[job.assessment.task]]\n    name = \"t" + std::to_string(i)
           + "\"\n    command = [\"/bin/sh\", \"-c\", \"" + body
           + "\"]\n    env = { QUIESCE_TEST_MARK = \"" + mark + "\" }\n";
  return out;
}

} // namespace quiesce::test
