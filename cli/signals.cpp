#include "cli/signals.hpp"

#include <cerrno>
#include <csignal>
#include <ctime>
#include <pthread.h>

namespace quiesce::cli {

namespace {

sigset_t stop_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

} // namespace

const char* stop_signal_name(int sig) {
  switch (sig) {
    case SIGINT:
      return "SIGINT";
    case SIGHUP:
      return "SIGHUP";
    default:
      return "SIGTERM";
  }
}

void block_stop_signals() {
  auto set = stop_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

signal_watcher::signal_watcher(handler fn) : fn_(std::move(fn)) {
  thread_ = std::thread{[this] {
    auto set = stop_set();
    // Short waits so that stop() takes effect within 100 ms.
    timespec period{0, 100'000'000};
    while (!stopping_) {
      auto sig = sigtimedwait(&set, nullptr, &period);
      if (sig > 0 && !stopping_)
        fn_(sig);
    }
  }};
}

signal_watcher::~signal_watcher() {
  stop();
}

void signal_watcher::stop() {
  stopping_ = true;
  if (thread_.joinable())
    thread_.join();
}

} // namespace quiesce::cli
