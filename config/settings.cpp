#include "config/duration.hpp"
#include "config/job_file.hpp"
#include "config/size.hpp"
#include "config/toml_reader.hpp"

#include <algorithm>
#include <limits>

namespace quiesce::config {

namespace detail {

const std::vector<std::string_view>& runtime_keys() {
  // clang-format off
  static const std::vector<std::string_view> keys{
      "threads",       "slots",         "grace",          "run_dir",
      "listen",        "nodes",         "retries",        "max_running_jobs",
      "scheduler",     "heartbeat",     "node_timeout",   "state_dir",
      "tls_ca",        "tls_cert",      "tls_key",        "tls_passphrase",
      "strict_limits", "head_lease",    "log_file",       "log_level",
      "log_max_size",  "log_files",     "metrics_listen", "users",
      "run_as_root",   "job_retention",
      "max_connections", "max_connections_per_address", "handshake_timeout",
      "max_message_size", "dev_mode",  "pipeline",
  };
  // clang-format on
  return keys;
}

// Reads `[runtime.users]`: NAME = "user" or NAME = { uid = U, gid = G,
// groups = [..] }.
void read_users(reader& in, const toml::node& node, settings& base) {
  auto table = node.as_table();
  if (table == nullptr) {
    in.error(node, "'users': expected a table ([runtime.users], identity = "
                   "\"local user\" or { uid = U, gid = G, groups = [..] }), "
                   "found "
                       + std::string{describe_type(node)});
    return;
  }
  std::map<std::string, account_setting> users;
  for (auto&& [key, value] : *table) {
    auto name = std::string{key.str()};
    auto where = "'users." + name + "'";
    account_setting acc;
    if (auto user = value.as_string()) {
      acc.user = user->get();
      if (acc.user.empty()) {
        in.error(value, where + ": expected a local user name, found \"\"");
        continue;
      }
    } else if (auto entry = value.as_table()) {
      in.check_keys(*entry, {"uid", "gid", "groups"}, where);
      auto uid = in.read_integer(*entry, "uid", 0, 4294967294);
      auto gid = in.read_integer(*entry, "gid", 0, 4294967294);
      if (!uid || !gid) {
        if (!entry->get("uid") || !entry->get("gid"))
          in.error(value, where
                              + ": a numeric account needs both 'uid' and "
                                "'gid'");
        continue;
      }
      acc.uid = *uid;
      acc.gid = *gid;
      if (auto groups = entry->get("groups")) {
        auto arr = groups->as_array();
        if (arr == nullptr) {
          in.error(*groups, where
                                + ".groups: expected an array of group "
                                  "ids, found "
                                + std::string{describe_type(*groups)});
          continue;
        }
        for (auto&& g : *arr) {
          auto id = g.as_integer();
          if (id == nullptr || id->get() < 0 || id->get() > 4294967294) {
            in.error(g, where
                            + ".groups: expected group ids (integers from "
                              "0 to 4294967294)");
            continue;
          }
          acc.groups.push_back(id->get());
        }
      }
    } else {
      in.error(value, where
                          + ": expected a local user name (\"alice\") or "
                            "{ uid = U, gid = G, groups = [..] }, found "
                          + std::string{describe_type(value)});
      continue;
    }
    users.emplace(std::move(name), std::move(acc));
  }
  base.users = std::move(users);
}

settings read_runtime_table(reader& in, const toml::table& table,
                            settings base) {
  in.check_keys(table, runtime_keys(), "[runtime]");
  auto u32 = [](int64_t x) {
    return static_cast<uint32_t>(x);
  };
  // The parser reads whole milliseconds at the finest.
  auto ms = [](caf::timespan x) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(x);
  };
  if (auto x = in.read_integer(table, "threads", 0, 1024))
    base.threads = u32(*x);
  if (auto x = in.read_integer(table, "slots", 0, 65536))
    base.slots = u32(*x);
  if (auto x = in.read_integer(table, "pipeline", 0, 64))
    base.pipeline = u32(*x);
  if (auto x = in.read_duration(table, "grace"))
    base.grace = ms(*x);
  if (auto x = in.read_path(table, "run_dir"))
    base.run_dir = *x;
  if (auto x = in.read_path(table, "state_dir"))
    base.state_dir = *x;
  // TLS files (docs/security.md); whether they can be used is checked where
  // the settings are used (runtime/tls.hpp).
  if (auto x = in.read_path(table, "tls_ca"))
    base.tls_ca = *x;
  if (auto x = in.read_path(table, "tls_cert"))
    base.tls_cert = *x;
  if (auto x = in.read_path(table, "tls_key"))
    base.tls_key = *x;
  if (auto x = in.read_string(table, "tls_passphrase")) {
    if (x->rfind("file:", 0) == 0 || x->rfind("env:", 0) == 0)
      base.tls_passphrase = *x;
    else
      in.error(
          *table.get("tls_passphrase"),
          "'tls_passphrase': expected \"file:PATH\" or \"env:NAME\" (where "
          "the passphrase is read from; never the passphrase itself), "
          "found "
              + quote(*x));
  }
  if (auto node = table.get("listen"))
    if (auto x = in.read_address(*node, "'listen'", true))
      base.listen = *x;
  // Accepted by earlier versions and never used: a head does not dial out.
  for (auto&& [key, value] : table)
    if (key == "nodes")
      in.error(key.source(),
               "'nodes' is not supported: a head does not connect to its "
               "nodes, they join it; start `quiesce node --head HOST:PORT` on "
               "each node instead");
  if (auto x = in.read_integer(table, "retries", 0, 1000))
    base.retries = u32(*x);
  if (auto x = in.read_bool(table, "strict_limits"))
    base.strict_limits = *x;
  if (auto x = in.read_bool(table, "run_as_root"))
    base.run_as_root = *x;
  if (auto x = in.read_bool(table, "dev_mode"))
    base.dev_mode = *x;
  if (auto node = table.get("users"))
    read_users(in, *node, base);
  if (auto x = in.read_integer(table, "max_running_jobs", 0,
                               std::numeric_limits<uint32_t>::max()))
    base.max_running_jobs = u32(*x);
  if (auto x = in.read_string(table, "scheduler")) {
    if (*x == "sharing" || *x == "stealing")
      base.scheduler = *x;
    else
      in.error(*table.get("scheduler"),
               R"('scheduler': expected "sharing" or "stealing", found )"
                   + quote(*x));
  }
  if (auto x = in.read_duration(table, "head_lease"))
    base.head_lease = ms(*x);
  if (auto x = in.read_duration(table, "job_retention"))
    base.job_retention = ms(*x);
  if (auto x = in.read_path(table, "log_file"))
    base.log_file = *x;
  if (auto x = in.read_string(table, "log_level")) {
    if (is_log_level(*x))
      base.log_level = *x;
    else
      in.error(*table.get("log_level"),
               "'log_level': expected trace, debug, info, warn, error or off, "
               "found "
                   + quote(*x));
  }
  if (auto node = table.get("log_max_size")) {
    // An integer counts bytes; a string may name a unit ("10MiB").
    std::optional<uint64_t> size;
    if (auto i = node->value<int64_t>(); i && *i >= 0)
      size = static_cast<uint64_t>(*i);
    else if (auto text = node->value<std::string>())
      size = parse_size(*text);
    if (!size || *size < min_log_size || *size > max_log_size)
      in.error(*node, "'log_max_size': expected a size from "
                          + format_size(min_log_size) + " to "
                          + format_size(max_log_size)
                          + " (bytes, or a string such as \"10MiB\")");
    else
      base.log_max_size = *size;
  }
  if (auto x = in.read_integer(table, "log_files", 0, 1000))
    base.log_files = u32(*x);
  if (auto node = table.get("metrics_listen"))
    if (auto x = in.read_address(*node, "'metrics_listen'", true))
      base.metrics_listen = *x;
  if (auto x
      = in.read_integer(table, "max_connections", 1, max_connections_limit))
    base.max_connections = u32(*x);
  if (auto x = in.read_integer(table, "max_connections_per_address", 1,
                               max_connections_limit))
    base.max_connections_per_address = u32(*x);
  if (auto x = in.read_duration(table, "handshake_timeout", true)) {
    if (ms(*x) > max_handshake_timeout)
      in.error(*table.get("handshake_timeout"),
               "'handshake_timeout': expected at most "
                   + format_duration(max_handshake_timeout)
                   + " (a peer holds its connection that long unproven)");
    else
      base.handshake_timeout = ms(*x);
  }
  if (auto node = table.get("max_message_size")) {
    std::optional<uint64_t> size;
    if (auto i = node->value<int64_t>(); i && *i >= 0)
      size = static_cast<uint64_t>(*i);
    else if (auto text = node->value<std::string>())
      size = parse_size(*text);
    if (!size || !is_message_bound(*size))
      in.error(*node, "'max_message_size': expected a size from "
                          + format_size(min_message_bound) + " to "
                          + format_size(max_message_bound)
                          + " (bytes, or a string such as \"64MiB\")");
    else
      base.max_message_size = *size;
  }
  auto heartbeat = in.read_duration(table, "heartbeat", true);
  auto node_timeout = in.read_duration(table, "node_timeout", true);
  if (heartbeat)
    base.heartbeat_interval = ms(*heartbeat);
  if (node_timeout)
    base.connection_timeout = ms(*node_timeout);
  // Only a value set here can be blamed; the defaults are consistent.
  if ((heartbeat || node_timeout)
      && base.connection_timeout <= base.heartbeat_interval) {
    auto key = node_timeout ? "node_timeout" : "heartbeat";
    in.error(*table.get(key),
             "'node_timeout' (" + format_duration(base.connection_timeout)
                 + ") must be longer than 'heartbeat' ("
                 + format_duration(base.heartbeat_interval) + ")");
  }
  return base;
}

} // namespace detail

load_result parse_runtime_file(std::string_view text,
                               const std::string& source_name,
                               const settings& defaults) {
  load_result result;
  auto doc = detail::parse_document(text, source_name);
  if (!doc.root) {
    result.errors.push_back(std::move(*doc.error));
    return result;
  }
  detail::reader in{source_name};
  const auto& root = *doc.root;
  bool has_runtime_keys = false;
  for (auto&& [key, value] : root) {
    if (key == "runtime")
      continue;
    std::string message = "unknown top-level key '" + std::string{key.str()}
                          + "' in a runtime file";
    const auto& keys = detail::runtime_keys();
    if (std::find(keys.begin(), keys.end(), key.str()) != keys.end()) {
      message += " (runtime settings go in a [runtime] table)";
      has_runtime_keys = true;
    } else if (key == "job")
      message += " (a runtime file holds only a [runtime] table; jobs belong "
                 "in a job file)";
    else if (auto guess = closest_match(key.str(), {"runtime"}); !guess.empty())
      message += " (did you mean 'runtime'?)";
    in.error(key.source(), std::move(message));
  }
  auto values = defaults;
  if (auto node = root.get("runtime")) {
    if (auto table = node->as_table())
      values = detail::read_runtime_table(in, *table, defaults);
    else
      in.error(*node, "'runtime': expected a table ([runtime]), found "
                          + std::string{detail::describe_type(*node)});
  } else if (!has_runtime_keys) {
    in.error(toml::source_region{{1, 1}, {1, 1}, nullptr},
             "no [runtime] table: a runtime file holds its settings in a "
             "[runtime] table");
  }
  result.errors = in.sorted_errors();
  if (result.ok()) {
    result.file.runtime = std::move(values);
    result.file.has_runtime = true;
  }
  return result;
}

load_result load_runtime_file(const std::string& path,
                              const settings& defaults) {
  auto content = detail::read_file(path);
  if (!content.text) {
    load_result result;
    result.errors.push_back(std::move(*content.error));
    return result;
  }
  return parse_runtime_file(*content.text, path, defaults);
}

} // namespace quiesce::config
