#include "actors/ignored.hpp"

#include <caf/actor_addr.hpp>
#include <caf/actor_control_block.hpp>

#include <iostream>
#include <utility>

namespace quiesce {

std::string attempt_name(const attempt_key& key) {
  return "job " + std::to_string(key.job) + " task " + std::to_string(key.task)
         + " attempt " + std::to_string(key.attempt);
}

std::string sender_name(const caf::strong_actor_ptr& from) {
  return from ? to_string(from->address()) : std::string{"nobody"};
}

rate_limited_log::rate_limited_log(std::ostream& out, uint32_t burst,
                                   clock::duration window)
    : out_(out), burst_(burst), window_(window) {
  // Nothing.
}

bool rate_limited_log::write(const std::string& line, clock::time_point now) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (!started_ || now - start_ >= window_) {
    started_ = true;
    start_ = now;
    written_ = 0;
  }
  if (written_ >= burst_) {
    ++pending_;
    ++held_back_;
    return false;
  }
  ++written_;
  if (pending_ > 0) {
    out_ << "quiesce: " << pending_
         << " more such lines were held back (at most " << burst_
         << " are written in a window)\n";
    pending_ = 0;
  }
  out_ << line << std::endl;
  return true;
}

uint64_t rate_limited_log::held_back() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return held_back_;
}

rate_limited_log& ignored_log() {
  static rate_limited_log log{std::cerr, 20, std::chrono::seconds{1}};
  return log;
}

void log_ignored(const std::string& line) {
  ignored_log().write("quiesce: " + line);
}

} // namespace quiesce
