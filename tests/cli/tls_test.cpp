// Mutual TLS (docs/security.md) with real processes and real certificates
// made at test time, by `quiesce certs` and by the `openssl` command as the
// documentation shows: who a TLS head refuses (no certificate, another CA,
// expired), a node refusing a head of another CA, identities and roles taken
// from certificates, and TLS settings that cannot be used.

#include "cli/exit_status.hpp"
#include "runtime/runtime.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>

using namespace quiesce::cli;
using namespace quiesce::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// Runs a shell command in `dir`; fails the test when it fails.
void sh(const scratch_dir& dir, const std::string& cmd) {
  auto full = "cd '" + dir.path() + "' && (" + cmd + ") >>openssl.log 2>&1";
  INFO(cmd << "\n" << read_file(dir.path("openssl.log")));
  REQUIRE(std::system(full.c_str()) == 0);
}

void quiesce_ok(const scratch_dir& dir, const std::vector<std::string>& args) {
  auto r = run_quiesce(dir, args, 30s);
  INFO(r.out << r.err);
  REQUIRE(r.status == exit_ok);
}

// Issues NAME.pem/NAME.key with the `openssl` command, signed by the CA in
// `ca` (ca.pem, ca.key), subject CN=NAME/OU=ROLE, as docs/security.md shows.
void openssl_issue(const scratch_dir& dir, const std::string& ca,
                   const std::string& name, const std::string& role,
                   const std::string& days) {
  sh(dir, "printf 'basicConstraints=critical,CA:FALSE\\n"
          "keyUsage=critical,digitalSignature\\n"
          "extendedKeyUsage=clientAuth\\n' >client.ext");
  sh(dir, "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
          "-nodes -keyout "
              + name + ".key -out " + name + ".csr -subj '/CN=" + name
              + "/OU=" + role + "'");
  sh(dir, "openssl x509 -req -in " + name + ".csr -CA " + ca + "/ca.pem -CAkey "
              + ca + "/ca.key -CAcreateserial -days " + days
              + " -extfile client.ext -out " + name + ".pem");
}

// A scratch directory with a CA made by `quiesce certs` and certificates
// for a head, a node, two clients and an admin; `other/` is a CA made by
// the `openssl` command with a client certificate of its own.
struct pki {
  explicit pki(const scratch_dir& d) : dir(d) {
    quiesce_ok(dir, {"certs", "init", dir.path("ca")});
    for (auto [name, role] :
         {std::pair{"head", "head"}, std::pair{"n1", "node"},
          std::pair{"alice", "client"}, std::pair{"root-admin", "admin"}})
      quiesce_ok(dir, {"certs", "issue", name, "--role", role, "--dir",
                       dir.path("ca")});
    // bob's certificate comes from the `openssl` command, with the CA of
    // `quiesce certs`; alice-old is expired.
    openssl_issue(dir, "ca", "bob", "client", "30");
    openssl_issue(dir, "ca", "alice-old", "client", "-1");
    sh(dir, "mkdir other && openssl req -x509 -newkey ec -pkeyopt "
            "ec_paramgen_curve:P-256 -nodes -keyout other/ca.key -out "
            "other/ca.pem -subj '/CN=Other CA' -days 30");
    openssl_issue(dir, "other", "mallory", "client", "30");
  }

  // The TLS options of a process holding `name`'s certificate (in ca/ for
  // those made by `quiesce certs`, else in the directory itself).
  std::vector<std::string> tls(const std::string& name,
                               const std::string& ca = "ca") const {
    auto base = exists(dir.path("ca/" + name + ".pem")) ? dir.path("ca/" + name)
                                                        : dir.path(name);
    return {"--tls-ca",   dir.path(ca + "/ca.pem"),
            "--tls-cert", base + ".pem",
            "--tls-key",  base + ".key"};
  }

  const scratch_dir& dir;
};

// A TLS head on every address (any port), with tasks on its own node.
struct tls_head {
  tls_head(const scratch_dir& dir, std::vector<std::string> tls,
           const std::vector<std::string>& env = {},
           const std::string& runtime_file = {})
      : proc(dir,
             with(std::move(tls),
                  runtime_file.empty() ? accounts(dir) : runtime_file),
             {}, env) {
    const std::string prefix = "listening on 0.0.0.0:";
    REQUIRE(eventually(
        [&] { return proc.output().find(prefix) != std::string::npos; }, 20s));
    auto out = proc.output();
    address = "127.0.0.1:"
              + std::to_string(
                  std::stoul(out.substr(out.find(prefix) + prefix.size())));
  }

  // With TLS a node runs only owners it has an account for
  // (docs/security.md, "Tasks run as their owner"); these tests are about
  // identities, so alice's and bob's tasks run as root, as before.
  static std::string accounts(const scratch_dir& dir) {
    return dir.write("accounts.toml", "[runtime]\nrun_as_root = true\n"
                                      "[runtime.users]\nalice = \"root\"\n"
                                      "bob = \"root\"\n");
  }

  static std::vector<std::string> with(std::vector<std::string> tls,
                                       const std::string& runtime_file) {
    std::vector<std::string> args{"head",          "--listen", "0.0.0.0:0",
                                  "--local-slots", "2",        "--runtime",
                                  runtime_file};
    args.insert(args.end(), tls.begin(), tls.end());
    return args;
  }

  child proc;
  std::string address;
};

/// Starts node n1 with its certificate, `slots` slots and `runtime_file`,
/// and waits until it joined `h`.
std::unique_ptr<child> join_node(const scratch_dir& dir, const pki& certs,
                                 const tls_head& h, int slots,
                                 const std::string& runtime_file) {
  std::vector<std::string> args{"node",
                                "--head",
                                h.address,
                                "--name",
                                "n1",
                                "--slots",
                                std::to_string(slots),
                                "--runtime",
                                runtime_file};
  auto node_tls = certs.tls("n1");
  args.insert(args.end(), node_tls.begin(), node_tls.end());
  auto node = std::make_unique<child>(dir, args);
  REQUIRE(eventually(
      [&] {
        return node->output().find("joined the head") != std::string::npos;
      },
      20s));
  return node;
}

exit_info as(const scratch_dir& dir, const tls_head& h,
             std::vector<std::string> tls, std::vector<std::string> args) {
  args.push_back("--head");
  args.push_back(h.address);
  args.insert(args.end(), tls.begin(), tls.end());
  return run_quiesce(dir, args, 30s);
}

json as_json(const scratch_dir& dir, const tls_head& h,
             std::vector<std::string> tls, std::vector<std::string> args) {
  args.push_back("--json");
  auto r = as(dir, h, std::move(tls), std::move(args));
  INFO(r.out << r.err);
  REQUIRE_FALSE(r.timed_out);
  return json::parse(r.out);
}

int submit_sleeper(const scratch_dir& dir, const tls_head& h,
                   const std::vector<std::string>& tls,
                   const std::string& name) {
  auto file = dir.write(name + ".toml",
                        "[[job]]\nname = \"" + name
                            + "\"\ngrace = \"1s\"\n[[job.assessment]]\n"
                              "[[job.assessment.task]]\nname = \"sleeper\"\n"
                              "command = [\"sleep\", \"30\"]\n");
  auto doc = as_json(dir, h, tls, {"submit", file});
  REQUIRE(doc["code"] == "ok");
  return doc["jobs"][0]["id"].get<int>();
}

json job_of(const scratch_dir& dir, const tls_head& h,
            const std::vector<std::string>& tls, int id) {
  return as_json(dir, h, tls, {"status", std::to_string(id)})["job"];
}

} // namespace

TEST_CASE("tls: certs writes keys 0600 and never overwrites a file",
          "[cli][security][tls]") {
  scratch_dir dir;
  quiesce_ok(dir, {"certs", "init", dir.path("ca")});
  quiesce_ok(dir, {"certs", "issue", "alice", "--role", "client", "--dir",
                   dir.path("ca")});
  struct stat st {};
  REQUIRE(::stat(dir.path("ca/ca.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(::stat(dir.path("ca/alice.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto before = read_file(dir.path("ca/alice.key"));
  auto again = run_quiesce(dir, {"certs", "issue", "alice", "--role", "client",
                                 "--dir", dir.path("ca")});
  CHECK(again.status != exit_ok);
  CHECK_THAT(again.err, Catch::Contains("never overwrites"));
  CHECK(read_file(dir.path("ca/alice.key")) == before);
  // The `openssl` command agrees: the certificate chains to the CA and names
  // the identity and role in its subject.
  sh(dir, "openssl verify -CAfile ca/ca.pem ca/alice.pem");
  sh(dir, "openssl x509 -in ca/alice.pem -noout -subject | grep -q "
          "'CN = alice, OU = client'");
}

TEST_CASE("tls: unusable TLS settings are refused before anything starts",
          "[cli][security][tls]") {
  scratch_dir dir;
  pki certs{dir};
  auto ca = dir.path("ca/ca.pem");
  // Half the settings.
  auto r
      = run_quiesce(dir, {"head", "--listen", "127.0.0.1:0", "--tls-ca", ca});
  CHECK(r.status == exit_invalid_input);
  CHECK_THAT(r.err, Catch::Contains("missing: tls_cert, tls_key"));
  // A key that is not the certificate's.
  r = run_quiesce(dir, {"list", "jobs", "--tls-ca", ca, "--tls-cert",
                        dir.path("ca/alice.pem"), "--tls-key",
                        dir.path("ca/n1.key")});
  CHECK(r.status == exit_invalid_input);
  CHECK_THAT(r.err, Catch::Contains("is not the key of the certificate"));
  // A passphrase source that is not one (a passphrase in clear).
  r = run_quiesce(dir, {"node", "--tls-passphrase", "hunter2", "--tls-ca", ca,
                        "--tls-cert", dir.path("ca/n1.pem"), "--tls-key",
                        dir.path("ca/n1.key")});
  CHECK(r.status == exit_invalid_input);
  CHECK_THAT(r.err, Catch::Contains("is not a passphrase source"));
  // The same in a runtime file, with its line.
  auto file = dir.write("rt.toml", "[runtime]\ntls_passphrase = \"hunter2\"\n");
  r = run_quiesce(dir, {"head", "--runtime", file});
  CHECK(r.status == exit_invalid_input);
  CHECK_THAT(r.err, Catch::Contains("rt.toml:2"));
  CHECK_THAT(r.err, Catch::Contains("never the passphrase itself"));
  // Without TLS, a head still refuses a non-loopback address.
  r = run_quiesce(dir, {"head", "--listen", "0.0.0.0:0"});
  CHECK(r.status != exit_ok);
  CHECK_THAT(r.err, Catch::Contains("without TLS a head listens only on a "
                                    "loopback address"));
}

TEST_CASE("tls: a client without a certificate, with one of another CA or an "
          "expired one is refused and changes nothing",
          "[cli][security][tls]") {
  scratch_dir dir;
  pki certs{dir};
  // The head's key is encrypted; its passphrase comes from the environment.
  sh(dir, "openssl pkey -in ca/head.key -aes256 -passout pass:s3cret -out "
          "head-enc.key");
  auto head_tls = certs.tls("head");
  head_tls[5] = dir.path("head-enc.key");
  head_tls.push_back("--tls-passphrase");
  head_tls.push_back("env:HEAD_KEY_PASS");
  tls_head h{dir, head_tls, {"HEAD_KEY_PASS=s3cret"}};
  auto alice = certs.tls("alice");
  auto job = submit_sleeper(dir, h, alice, "mine");
  REQUIRE(eventually(
      [&] { return job_of(dir, h, alice, job)["status"] == "running"; }, 20s));
  auto id = std::to_string(job);
  // No TLS at all: the TLS head does not speak plain BASP.
  auto r = as(dir, h, {}, {"cancel", "job", id});
  CHECK(r.status == exit_unreachable);
  // A certificate of another CA.
  r = as(dir, h, certs.tls("mallory", "ca"), {"cancel", "job", id});
  CHECK(r.status == exit_unreachable);
  // An expired certificate of the right CA.
  r = as(dir, h, certs.tls("alice-old"), {"cancel", "job", id});
  CHECK(r.status == exit_unreachable);
  // A client that trusts another CA does not talk to this head either.
  r = as(dir, h, certs.tls("alice", "other"), {"list", "jobs"});
  CHECK(r.status == exit_unreachable);
  // Nothing changed.
  auto rec = job_of(dir, h, alice, job);
  CHECK(rec["status"] == "running");
  CHECK(rec["owner"] == "alice");
}

TEST_CASE("tls: a node refuses a head whose certificate is of another CA or "
          "is a client's",
          "[cli][security][tls]") {
  scratch_dir dir;
  pki certs{dir};
  quiesce_ok(dir, {"certs", "init", dir.path("rogue")});
  quiesce_ok(dir, {"certs", "issue", "head", "--role", "head", "--dir",
                   dir.path("rogue")});
  // The rogue head trusts the real CA (so the node's certificate would pass
  // its check) but holds a certificate of its own CA.
  tls_head rogue{dir,
                 {"--tls-ca", dir.path("ca/ca.pem"), "--tls-cert",
                  dir.path("rogue/head.pem"), "--tls-key",
                  dir.path("rogue/head.key")}};
  std::vector<std::string> args{"node", "--head", rogue.address, "--name",
                                "n1"};
  auto node_tls = certs.tls("n1");
  args.insert(args.end(), node_tls.begin(), node_tls.end());
  auto r = run_quiesce(dir, args, 30s);
  INFO(r.out << r.err);
  CHECK(r.status == exit_unreachable);
  CHECK_THAT(r.out, Catch::Contains("cannot join the head"));
  CHECK_THAT(r.out, !Catch::Contains("joined the head"));
  CHECK_THAT(rogue.proc.output(), !Catch::Contains("node n1 joined"));
  // Nor does it join a server holding a client certificate of its own CA (a
  // client's certificate, clientAuth only, cannot serve TLS): `quiesce head`
  // refuses to start with one, so the posing server is OpenSSL's own, which
  // asks for the node's certificate as a head does.
  sh(dir, "timeout 60 openssl s_server -www -accept 127.0.0.1:0 -cert "
          "ca/alice.pem -key ca/alice.key -CAfile ca/ca.pem -Verify 1 "
          "</dev/null >posing.log 2>&1 & echo $! >posing.pid");
  const std::string accept = "ACCEPT 127.0.0.1:";
  REQUIRE(eventually(
      [&] {
        return read_file(dir.path("posing.log")).find(accept)
               != std::string::npos;
      },
      20s));
  auto log = read_file(dir.path("posing.log"));
  args[2] = "127.0.0.1:"
            + std::to_string(
                std::stoul(log.substr(log.find(accept) + accept.size())));
  r = run_quiesce(dir, args, 30s);
  INFO(r.out << r.err << read_file(dir.path("posing.log")));
  CHECK(r.status == exit_unreachable);
  CHECK_THAT(r.out, Catch::Contains("cannot join the head"));
  CHECK_THAT(r.out, !Catch::Contains("joined the head"));
  // Refused in the TLS handshake, for the certificate: the node's alert 43.
  // (With the head's certificate the handshake completes, and the node
  // gives up only for want of CAF's handshake.)
  CHECK_THAT(read_file(dir.path("posing.log")),
             Catch::Contains("unsupported certificate"));
  sh(dir, "kill $(cat posing.pid)");
}

TEST_CASE("tls: a head refuses to start with a certificate that cannot serve "
          "TLS, and says why",
          "[cli][security][tls]") {
  scratch_dir dir;
  pki certs{dir};
  auto r = run_quiesce(
      dir, tls_head::with(certs.tls("alice"), tls_head::accounts(dir)), 30s);
  INFO(r.out << r.err);
  CHECK(r.status == exit_invalid_input);
  CHECK_THAT(r.err, Catch::Contains(dir.path("ca/alice.pem")));
  CHECK_THAT(r.err, Catch::Contains("cannot serve TLS"));
  CHECK_THAT(r.err, Catch::Contains("--role head"));
  CHECK_THAT(r.out, !Catch::Contains("listening on"));
  // The head's own certificate serves.
  tls_head h{dir, certs.tls("head")};
  CHECK_FALSE(h.address.empty());
  // An embedding program's runtime refuses to publish with it the same way.
  for (auto [name, serves] :
       {std::pair{"alice", false}, std::pair{"head", true}}) {
    quiesce::runtime_options o;
    o.network = true;
    o.local_node = false;
    o.tls_ca = dir.path("ca/ca.pem");
    o.tls_cert = dir.path("ca/" + std::string{name} + ".pem");
    o.tls_key = dir.path("ca/" + std::string{name} + ".key");
    quiesce::runtime rt{o};
    std::string error;
    auto port = rt.publish("127.0.0.1", 0, error);
    INFO(name << ": " << error);
    CHECK((port != 0) == serves);
    if (!serves)
      CHECK_THAT(error, Catch::Contains("cannot serve TLS"));
  }
}

TEST_CASE("tls: identities and roles come from certificates: a client acts on "
          "its own jobs, is denied others', an admin may, a node joins",
          "[cli][security][tls]") {
  scratch_dir dir;
  pki certs{dir};
  tls_head h{dir, certs.tls("head")};
  // A node with a node certificate joins.
  auto node = join_node(dir, certs, h, 1, tls_head::accounts(dir));
  auto alice = certs.tls("alice");
  auto bob = certs.tls("bob");
  auto admin = certs.tls("root-admin");
  auto a = submit_sleeper(dir, h, alice, "alices");
  auto b = submit_sleeper(dir, h, bob, "bobs");
  CHECK(job_of(dir, h, alice, a)["owner"] == "alice");
  CHECK(job_of(dir, h, alice, b)["owner"] == "bob");
  // alice may not cancel bob's job; it is untouched.
  auto doc = as_json(dir, h, alice, {"cancel", "job", std::to_string(b)});
  CHECK(doc["code"] == "permission_denied");
  CHECK(job_of(dir, h, bob, b)["status"] != "cancelling");
  CHECK(job_of(dir, h, bob, b)["status"] != "cancelled");
  // A node certificate manages no job.
  doc = as_json(dir, h, certs.tls("n1"), {"cancel", "job", std::to_string(b)});
  CHECK(doc["code"] == "permission_denied");
  // alice cancels her own; the admin cancels bob's.
  doc = as_json(dir, h, alice, {"terminate", "job", std::to_string(a)});
  CHECK(doc["code"] == "ok");
  doc = as_json(dir, h, admin, {"terminate", "job", std::to_string(b)});
  CHECK(doc["code"] == "ok");
  CHECK(job_of(dir, h, bob, b)["status"] == "cancelled");
  auto nodes = as_json(dir, h, alice, {"list", "nodes"});
  bool has_n1 = false;
  for (const auto& n : nodes["nodes"])
    has_n1 = has_n1 || n["name"] == "n1";
  CHECK(has_n1);
}

TEST_CASE("tls: a root head runs a client's task as the account it maps to, "
          "refuses a client without one, and places each owner's tasks on a "
          "node that maps it",
          "[cli][security][tls][owner]") {
  if (::geteuid() != 0)
    return; // needs root (the suite runs as root)
  scratch_dir dir;
  pki certs{dir};
  // nobody (uid 65534) must reach the run directory.
  ::chmod(dir.path().c_str(), 0755);
  // Where the tasks say they ran: anyone may write there.
  REQUIRE(::mkdir(dir.path("marks").c_str(), 0777) == 0);
  ::chmod(dir.path("marks").c_str(), 0777);
  auto runtime = dir.write("owners.toml", "[runtime]\nrun_dir = \"runs\"\n"
                                          "[runtime.users]\nalice = "
                                          "\"nobody\"\n");
  tls_head h{dir, certs.tls("head"), {}, runtime};
  auto job_file = [&](const std::string& name) {
    return dir.write(name + ".toml",
                     "[[job]]\nname = \"" + name
                         + "\"\n[[job.assessment]]\n[[job.assessment.task]]\n"
                           "name = \"who\"\nshell = true\n"
                           "command = \"id -u; id -G; touch "
                         + dir.path("marks/" + name) + "\"\n");
  };
  auto submit
      = [&](const std::vector<std::string>& tls, const std::string& name) {
          auto doc = as_json(dir, h, tls, {"submit", job_file(name)});
          REQUIRE(doc["code"] == "ok");
          return doc["jobs"][0]["id"].get<int>();
        };
  auto terminal = [&](const std::vector<std::string>& tls, int job) {
    auto status = job_of(dir, h, tls, job)["status"];
    return status == "finished" || status == "failed";
  };
  auto alice = certs.tls("alice");
  auto a = submit(alice, "alices");
  REQUIRE(eventually([&] { return terminal(alice, a); }, 20s));
  CHECK(job_of(dir, h, alice, a)["status"] == "finished");
  CHECK(read_file(dir.path("runs/job-" + std::to_string(a)
                           + "/task-1.attempt-1.stdout"))
        == "65534\n65534\n");
  auto bob = certs.tls("bob");
  auto b = submit(bob, "bobs");
  REQUIRE(eventually([&] { return terminal(bob, b); }, 20s));
  auto tasks = as_json(dir, h, bob, {"list", "tasks", std::to_string(b)});
  REQUIRE(tasks["tasks"].size() == 1);
  CHECK(tasks["tasks"][0]["status"] == "failed");
  CHECK(tasks["tasks"][0]["end_code"] == "spawn_failed");
  CHECK_THAT(tasks["tasks"][0]["error_message"].get<std::string>(),
             Catch::StartsWith("owner bob has no account on node "));
  CHECK_FALSE(exists(dir.path("marks/bobs")));
  CHECK(exists(dir.path("marks/alices")));
  // A node that maps bob joins, with more free slots than the head's own:
  // the head places bob's tasks there and alice's still on its own node.
  auto bobs_runtime
      = dir.write("bob.toml", "[runtime]\nrun_dir = \"runs-n1\"\n"
                              "[runtime.users]\nbob = \"nobody\"\n");
  auto node = join_node(dir, certs, h, 4, bobs_runtime);
  auto node_of = [&](const std::vector<std::string>& tls, int job) {
    auto doc = as_json(dir, h, tls, {"list", "tasks", std::to_string(job)});
    REQUIRE(doc["tasks"].size() == 1);
    return doc["tasks"][0]["node"].get<std::string>();
  };
  auto b2 = submit(bob, "bobs2");
  REQUIRE(eventually([&] { return terminal(bob, b2); }, 20s));
  CHECK(job_of(dir, h, bob, b2)["status"] == "finished");
  CHECK(node_of(bob, b2) == "n1");
  CHECK(exists(dir.path("marks/bobs2")));
  auto a2 = submit(alice, "alices2");
  REQUIRE(eventually([&] { return terminal(alice, a2); }, 20s));
  CHECK(job_of(dir, h, alice, a2)["status"] == "finished");
  CHECK(node_of(alice, a2) != "n1");
}

TEST_CASE("owners: an unknown local user or root without run_as_root stops "
          "head and node before anything starts",
          "[cli][security][owner]") {
  scratch_dir dir;
  auto unknown = dir.write("unknown.toml", "[runtime.users]\nalice = "
                                           "\"no-such-user-xyz\"\n");
  auto root = dir.write("root.toml",
                        "[runtime.users]\nalice = { uid = 0, gid = 0 }\n");
  for (const auto& cmd :
       {std::vector<std::string>{"node", "--head", "127.0.0.1:1"},
        std::vector<std::string>{"head", "--listen", "127.0.0.1:0"}}) {
    auto args = cmd;
    args.insert(args.end(), {"--runtime", unknown});
    auto r = run_quiesce(dir, args, 30s);
    INFO(r.out << r.err);
    CHECK(r.status == exit_invalid_input);
    CHECK_THAT(r.err, Catch::Contains("quiesce: [runtime.users] alice: no "
                                      "local user 'no-such-user-xyz' on this "
                                      "machine"));
    args.back() = root;
    r = run_quiesce(dir, args, 30s);
    INFO(r.out << r.err);
    CHECK(r.status == exit_invalid_input);
    CHECK_THAT(r.err, Catch::Contains("maps to uid 0 (root); tasks run as "
                                      "root only with run_as_root = true"));
  }
}
