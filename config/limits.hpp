#pragma once

// The resource-limit keys of job files: `memory_max`, `cpus` and `pids_max`
// (docs/job-file.md), read into `process::resource_limits`.

#include "execution/command.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace quiesce::config {

/// Smallest `memory_max`: 1 MiB (less kills any program as it starts).
inline constexpr uint64_t min_memory_max
    = process::resource_limits::min_memory_max;

/// Largest `pids_max` (the kernel's largest pid_max).
inline constexpr int64_t max_pids_max = process::resource_limits::max_pids_max;

/// Parses a memory size: digits with an optional suffix K, M, G or T (powers
/// of 1024, e.g. "512M", "2G", "65536"). Returns false and sets `why` when
/// `text` is not one or does not fit 64 bits.
bool parse_memory_size(std::string_view text, uint64_t& bytes,
                       std::string& why);

/// Returns `bytes` in the job-file form, with the largest suffix that
/// divides it exactly ("512M", "1536K", "1000").
std::string format_memory_size(uint64_t bytes);

/// Returns `millis` thousandths of a CPU as a decimal number ("0.2", "2").
std::string format_cpus(uint32_t millis);

} // namespace quiesce::config
