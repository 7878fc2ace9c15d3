#include "messages/status.hpp"

#include <array>

namespace quiesce {

namespace {

constexpr std::array<std::string_view, 7> job_names{
    "not_submitted", "queued",    "running",   "finished",
    "failed",        "cancelled", "cancelling"};

constexpr std::array<std::string_view, 6> task_names{
    "not_submitted", "queued", "running", "finished", "failed", "cancelled"};

constexpr std::array<std::string_view, 3> assessment_names{
    "not_yet_run", "running", "completed"};

constexpr std::array<std::string_view, 2> node_names{"ready", "unreachable"};

static_assert(job_names.size()
                  == static_cast<size_t>(job_status::cancelling) + 1,
              "one name per job status");
static_assert(task_names.size()
                  == static_cast<size_t>(task_status::cancelled) + 1,
              "one name per task status");
static_assert(assessment_names.size()
                  == static_cast<size_t>(assessment_status::completed) + 1,
              "one name per assessment status");
static_assert(node_names.size()
                  == static_cast<size_t>(node_status::unreachable) + 1,
              "one name per node status");

template <class Enum, size_t N>
std::string_view name_of(const std::array<std::string_view, N>& names,
                         Enum x) noexcept {
  auto i = static_cast<size_t>(x);
  return i < N ? names[i] : std::string_view{"invalid"};
}

template <class Enum, size_t N>
bool parse(const std::array<std::string_view, N>& names, std::string_view in,
           Enum& x) noexcept {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == in) {
      x = static_cast<Enum>(i);
      return true;
    }
  }
  return false;
}

} // namespace

std::string_view to_name(job_status x) noexcept {
  return name_of(job_names, x);
}

std::string_view to_name(task_status x) noexcept {
  return name_of(task_names, x);
}

std::string_view to_name(assessment_status x) noexcept {
  return name_of(assessment_names, x);
}

std::string_view to_name(node_status x) noexcept {
  return name_of(node_names, x);
}

bool from_name(std::string_view name, job_status& x) noexcept {
  return parse(job_names, name, x);
}

bool from_name(std::string_view name, task_status& x) noexcept {
  return parse(task_names, name, x);
}

bool from_name(std::string_view name, node_status& x) noexcept {
  return parse(node_names, name, x);
}

std::string to_string(job_status x) {
  return std::string{to_name(x)};
}

std::string to_string(task_status x) {
  return std::string{to_name(x)};
}

std::string to_string(assessment_status x) {
  return std::string{to_name(x)};
}

std::string to_string(node_status x) {
  return std::string{to_name(x)};
}

} // namespace quiesce
