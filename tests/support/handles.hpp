#pragma once

// Real actor handles for tests of plain classes that compare actors by
// address: an actor system with idle dummies, shut down on destruction.

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include <vector>

namespace quiesce::test {

/// Spawns idle actors and hands them out as typed handles.
class dummy_actors {
public:
  dummy_actors() : sys_(configure(cfg_)) {
    // nop
  }

  ~dummy_actors() {
    for (auto& a : actors_)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }

  dummy_actors(const dummy_actors&) = delete;
  dummy_actors& operator=(const dummy_actors&) = delete;

  /// Returns a new idle actor as a `Handle` (only its address is used).
  template <class Handle>
  Handle make() {
    actors_.push_back(sys_.spawn([]() -> caf::behavior {
      return {[](int) {
      }};
    }));
    return caf::actor_cast<Handle>(actors_.back());
  }

private:
  static caf::actor_system_config& configure(caf::actor_system_config& c) {
    c.set("scheduler.max-threads", 1);
    return c;
  }

  caf::actor_system_config cfg_;
  caf::actor_system sys_;
  std::vector<caf::actor> actors_;
};

} // namespace quiesce::test
