// `quiesce certs init DIR` and `quiesce certs issue NAME --role ROLE --dir
// DIR`: a certificate authority and the certificates of heads, nodes and
// clients for mutual TLS (docs/security.md), made with libcrypto. Keys are
// EC P-256, written 0600 and never overwritten; the subject is CN=NAME,
// OU=ROLE, which is where the head reads a peer's identity and role.

#include "cli/commands.hpp"
#include "cli/exit_status.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <iostream>
#include <memory>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace quiesce::cli {

namespace {

struct pkey_free {
  void operator()(EVP_PKEY* x) const {
    EVP_PKEY_free(x);
  }
};
struct x509_free {
  void operator()(X509* x) const {
    X509_free(x);
  }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;

std::string openssl_error() {
  std::string out;
  while (auto err = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    out += (out.empty() ? "" : "; ") + std::string{buf};
  }
  return out.empty() ? std::string{"unknown OpenSSL error"} : out;
}

// Writes `pem` (made by `write` on a FILE*) to a new file `path` with
// `mode`; refuses to replace a file.
template <class Write>
std::string write_new(const std::string& path, mode_t mode, Write write) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0)
    return "cannot create " + path + ": " + std::strerror(errno)
           + (errno == EEXIST ? " (certs never overwrites a file)" : "");
  // The umask may have taken bits away; never added any.
  ::fchmod(fd, mode);
  FILE* f = ::fdopen(fd, "w");
  if (!f) {
    ::close(fd);
    return "cannot write " + path + ": " + std::strerror(errno);
  }
  bool ok = write(f) == 1;
  ok = std::fclose(f) == 0 && ok;
  if (!ok)
    return "cannot write " + path + ": " + openssl_error();
  return {};
}

pkey_ptr new_key() {
  return pkey_ptr{EVP_EC_gen("P-256")};
}

bool add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  auto* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext)
    return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// A certificate of `key` for `subject`, valid `days` from now, signed by
// `issuer_key` (self-signed when `issuer` is null).
x509_ptr make_cert(EVP_PKEY* key, X509_NAME* subject, long days, X509* issuer,
                   EVP_PKEY* issuer_key, bool ca, const std::string& usage) {
  x509_ptr cert{X509_new()};
  unsigned char serial[16];
  if (!cert || RAND_bytes(serial, sizeof(serial)) != 1)
    return nullptr;
  serial[0] &= 0x7F;
  auto* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  auto* sn = X509_get_serialNumber(cert.get());
  bool ok = bn && BN_to_ASN1_INTEGER(bn, sn) != nullptr;
  BN_free(bn);
  ok = ok && X509_set_version(cert.get(), 2) == 1
       && X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0) != nullptr
       && X509_gmtime_adj(X509_getm_notAfter(cert.get()), days * 86400L)
              != nullptr
       && X509_set_subject_name(cert.get(), subject) == 1
       && X509_set_issuer_name(cert.get(),
                               issuer ? X509_get_subject_name(issuer) : subject)
              == 1
       && X509_set_pubkey(cert.get(), key) == 1;
  auto* signer = issuer ? issuer : cert.get();
  if (ca)
    ok = ok
         && add_ext(cert.get(), signer, NID_basic_constraints,
                    "critical,CA:TRUE,pathlen:0")
         && add_ext(cert.get(), signer, NID_key_usage,
                    "critical,keyCertSign,cRLSign");
  else
    ok = ok
         && add_ext(cert.get(), signer, NID_basic_constraints,
                    "critical,CA:FALSE")
         && add_ext(cert.get(), signer, NID_key_usage,
                    "critical,digitalSignature")
         && add_ext(cert.get(), signer, NID_ext_key_usage, usage.c_str());
  ok = ok && add_ext(cert.get(), signer, NID_subject_key_identifier, "hash")
       && (!issuer
           || add_ext(cert.get(), signer, NID_authority_key_identifier,
                      "keyid:always"))
       && X509_sign(cert.get(), issuer_key, EVP_sha256()) > 0;
  if (!ok)
    return nullptr;
  return cert;
}

X509_NAME* subject_of(const std::string& name, const std::string& unit) {
  auto* out = X509_NAME_new();
  auto add = [out](const char* field, const std::string& value) {
    return X509_NAME_add_entry_by_txt(
               out, field, MBSTRING_UTF8,
               reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0)
           == 1;
  };
  if (!out || !add("CN", name) || (!unit.empty() && !add("OU", unit))) {
    X509_NAME_free(out);
    return nullptr;
  }
  return out;
}

// Writes `key` (0600) and `cert` (0644) to `base`.key and `base`.pem.
std::string write_pair(const std::string& base, EVP_PKEY* key, X509* cert) {
  auto err = write_new(base + ".key", 0600, [key](FILE* f) {
    return PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  });
  if (!err.empty())
    return err;
  return write_new(base + ".pem", 0644,
                   [cert](FILE* f) { return PEM_write_X509(f, cert); });
}

bool valid_name(const std::string& x) {
  if (x.empty() || x.size() > 64 || x.front() == '.' || x.front() == '-')
    return false;
  for (char c : x)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_'
        && c != '.' && c != '@')
      return false;
  return true;
}

struct certs_options {
  std::string dir;
  std::string name;
  std::string role = "client";
  long days = 365;
  long ca_days = 3650;
};

int run_init(const certs_options& o) {
  std::error_code ec;
  std::filesystem::create_directories(o.dir, ec);
  if (ec) {
    std::cerr << "quiesce: cannot create " << o.dir << ": " << ec.message()
              << std::endl;
    return exit_runtime_error;
  }
  auto key = new_key();
  auto* subject = subject_of("Quiesce CA", "");
  auto cert = key && subject ? make_cert(key.get(), subject, o.ca_days, nullptr,
                                         key.get(), true, {})
                             : nullptr;
  X509_NAME_free(subject);
  if (!cert) {
    std::cerr << "quiesce: cannot make the CA: " << openssl_error()
              << std::endl;
    return exit_runtime_error;
  }
  if (auto err = write_pair(o.dir + "/ca", key.get(), cert.get());
      !err.empty()) {
    std::cerr << "quiesce: " << err << std::endl;
    return exit_runtime_error;
  }
  std::cout << "made a CA valid " << o.ca_days << " days: " << o.dir
            << "/ca.pem (give it to every head, node and client as --tls-ca), "
            << o.dir << "/ca.key (keep it secret: it makes certificates)"
            << std::endl;
  return exit_ok;
}

int run_issue(const certs_options& o) {
  if (!valid_name(o.name)) {
    std::cerr << "quiesce: certs issue: '" << o.name
              << "' is not a name: 1 to 64 letters, digits, '-', '_', '.', "
                 "'@', not starting with '.' or '-'"
              << std::endl;
    return exit_invalid_input;
  }
  auto read_pem = [](const std::string& path, auto reader) {
    FILE* f = std::fopen(path.c_str(), "r");
    if (!f)
      return decltype(reader(f)){nullptr};
    auto out = reader(f);
    std::fclose(f);
    return out;
  };
  x509_ptr ca{read_pem(o.dir + "/ca.pem", [](FILE* f) {
    return PEM_read_X509(f, nullptr, nullptr, nullptr);
  })};
  pkey_ptr ca_key{read_pem(o.dir + "/ca.key", [](FILE* f) {
    return PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  })};
  if (!ca || !ca_key) {
    ERR_clear_error();
    std::cerr << "quiesce: certs issue: no CA in " << o.dir
              << " (ca.pem and an unencrypted ca.key; make one with `quiesce "
                 "certs init "
              << o.dir << "`)" << std::endl;
    return exit_invalid_input;
  }
  auto key = new_key();
  auto* subject = subject_of(o.name, o.role);
  // The head serves TLS; the others only connect: a client's certificate
  // cannot serve as a head's.
  auto usage = o.role == "head" ? "serverAuth" : "clientAuth";
  auto cert = key && subject ? make_cert(key.get(), subject, o.days, ca.get(),
                                         ca_key.get(), false, usage)
                             : nullptr;
  X509_NAME_free(subject);
  if (!cert) {
    std::cerr << "quiesce: cannot make the certificate: " << openssl_error()
              << std::endl;
    return exit_runtime_error;
  }
  if (auto err = write_pair(o.dir + "/" + o.name, key.get(), cert.get());
      !err.empty()) {
    std::cerr << "quiesce: " << err << std::endl;
    return exit_runtime_error;
  }
  std::cout << "issued " << o.name << " (role " << o.role << ", valid "
            << o.days << " days): " << o.dir << "/" << o.name << ".pem, "
            << o.dir << "/" << o.name << ".key" << std::endl;
  return exit_ok;
}

} // namespace

installed_command install_certs(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "certs", "Make a CA and certificates for mutual TLS (docs/security.md)");
  sub->require_subcommand(1);
  auto o = std::make_shared<certs_options>();
  auto action = std::make_shared<int>(0);
  auto* init = sub->add_subcommand(
      "init", "Make a certificate authority: DIR/ca.pem and DIR/ca.key (0600)");
  init->add_option("DIR", o->dir, "directory for the CA (made if missing)")
      ->required();
  init->add_option("--days", o->ca_days, "validity in days (default 3650)")
      ->check(CLI::Range(1L, 36500L));
  init->callback([action] { *action = 1; });
  auto* issue = sub->add_subcommand(
      "issue", "Issue DIR/NAME.pem and DIR/NAME.key (0600), signed by DIR's "
               "CA; the subject is CN=NAME, OU=ROLE");
  issue->add_option("NAME", o->name, "the identity's name (owner of its jobs)")
      ->required();
  issue
      ->add_option("--role", o->role,
                   "client (manages its own jobs), node (joins as a worker), "
                   "admin (manages every job) or head (the head's own)")
      ->required()
      ->check(CLI::IsMember({"client", "node", "admin", "head"}));
  issue->add_option("--dir", o->dir, "directory of the CA (from certs init)")
      ->required();
  issue->add_option("--days", o->days, "validity in days (default 365)")
      ->check(CLI::Range(1L, 36500L));
  issue->callback([action] { *action = 2; });
  sub->footer("Examples:\n  quiesce certs init certs\n"
              "  quiesce certs issue head --role head --dir certs\n"
              "  quiesce certs issue worker-1 --role node --dir certs\n"
              "  quiesce certs issue alice --role client --dir certs\n");
  return {sub, [o, action] {
            return *action == 1 ? run_init(*o) : run_issue(*o);
          }};
}

} // namespace quiesce::cli
