#pragma once

// Readable Catch2 output for Quiesce's status and result code enums, for the
// tests that compare them.

#include "messages/result_code.hpp"
#include "messages/status.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace Catch {

template <>
struct StringMaker<quiesce::task_status> {
  static std::string convert(quiesce::task_status x) {
    return quiesce::to_string(x);
  }
};

template <>
struct StringMaker<quiesce::job_status> {
  static std::string convert(quiesce::job_status x) {
    return quiesce::to_string(x);
  }
};

template <>
struct StringMaker<quiesce::assessment_status> {
  static std::string convert(quiesce::assessment_status x) {
    return quiesce::to_string(x);
  }
};

template <>
struct StringMaker<quiesce::entity_status> {
  static std::string convert(const quiesce::entity_status& x) {
    return quiesce::to_string(x);
  }
};

template <>
struct StringMaker<quiesce::result_code> {
  static std::string convert(quiesce::result_code x) {
    return quiesce::to_string(x);
  }
};

} // namespace Catch
