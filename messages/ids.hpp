#pragma once

#include <cstdint>

namespace quiesce {

/// Identifies a job within one head: positive, never reused while retained.
using job_id = uint64_t;

/// Identifies a task within its job: positive, assigned 1, 2, 3, ... in the
/// order tasks are added.
using task_id = uint64_t;

/// An assessment's position in its job, counted from 0.
using assessment_index = uint32_t;

/// The value no valid job or task id takes.
inline constexpr uint64_t invalid_id = 0;

/// The current protocol version; a peer with another one is refused.
inline constexpr uint32_t protocol_version = 9;

} // namespace quiesce
