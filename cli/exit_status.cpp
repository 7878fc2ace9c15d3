#include "cli/exit_status.hpp"

namespace quiesce::cli {

std::string_view exit_status_name(int x) noexcept {
  switch (x) {
    case exit_ok:
      return "ok";
    case exit_failed:
      return "failed";
    case exit_invalid_input:
      return "invalid_input";
    case exit_cancelled:
      return "cancelled";
    case exit_runtime_error:
      return "runtime_error";
    case exit_refused:
      return "refused";
    case exit_unreachable:
      return "unreachable";
    default:
      return "unknown";
  }
}

int exit_status_for(const std::vector<job_status>& statuses) noexcept {
  bool failed = false;
  bool cancelled = false;
  bool unfinished = false;
  for (auto x : statuses) {
    switch (x) {
      case job_status::finished:
        break;
      case job_status::failed:
        failed = true;
        break;
      case job_status::cancelled:
        cancelled = true;
        break;
      default:
        unfinished = true;
        break;
    }
  }
  if (failed)
    return exit_failed;
  if (cancelled)
    return exit_cancelled;
  if (unfinished)
    return exit_runtime_error;
  return exit_ok;
}

int exit_status_for(const std::vector<job_record>& jobs) {
  std::vector<job_status> statuses;
  statuses.reserve(jobs.size());
  for (const auto& j : jobs)
    statuses.push_back(j.status);
  return exit_status_for(statuses);
}

int exit_status_for_reply(result_code code) noexcept {
  switch (code) {
    case result_code::ok:
      return exit_ok;
    case result_code::unavailable:
    case result_code::protocol_mismatch:
      return exit_unreachable;
    case result_code::request_timeout:
    case result_code::internal_error:
      return exit_runtime_error;
    default:
      return exit_refused;
  }
}

} // namespace quiesce::cli
