#pragma once

// Readiness notification for systemd units of Type=notify: `quiesce head`
// says READY=1 once it listens, `quiesce node` once it has joined its head.

#include <string>

namespace quiesce::cli {

/// Sends `state` ("READY=1", "STATUS=...", "STOPPING=1", several separated by
/// newlines) to the service manager at $NOTIFY_SOCKET; returns whether it was
/// sent. Without $NOTIFY_SOCKET (not started by systemd) it does nothing and
/// returns false.
bool notify_service_manager(const std::string& state);

} // namespace quiesce::cli
