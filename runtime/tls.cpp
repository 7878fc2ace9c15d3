#include "runtime/tls.hpp"

#include "runtime/system_config.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/openssl/manager.hpp>

#include <cstdlib>
#include <fstream>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sstream>
#include <stdexcept>

namespace quiesce::tls {

namespace {

// What a peer signs: the nonce under a label of its own, so that a
// signature made for Quiesce cannot serve anything else.
std::string signed_text(const std::string& nonce) {
  return "quiesce-authenticate-v1:" + nonce;
}

// Bounds on what a peer may send as proof.
constexpr size_t max_certificate = size_t{64} * 1024;
constexpr size_t max_signature = size_t{4} * 1024;

std::string openssl_error() {
  std::string out;
  while (auto err = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    if (!out.empty())
      out += "; ";
    out += buf;
  }
  return out.empty() ? std::string{"unknown OpenSSL error"} : out;
}

struct bio_free {
  void operator()(BIO* x) const {
    BIO_free(x);
  }
};
struct x509_free {
  void operator()(X509* x) const {
    X509_free(x);
  }
};
struct pkey_free {
  void operator()(EVP_PKEY* x) const {
    EVP_PKEY_free(x);
  }
};
struct md_ctx_free {
  void operator()(EVP_MD_CTX* x) const {
    EVP_MD_CTX_free(x);
  }
};
struct store_ctx_free {
  void operator()(X509_STORE_CTX* x) const {
    X509_STORE_CTX_free(x);
  }
};
using bio_ptr = std::unique_ptr<BIO, bio_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;

bool read_text(const std::string& path, std::string& out) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return false;
  std::ostringstream buf;
  buf << in.rdbuf();
  out = buf.str();
  return static_cast<bool>(in) || in.eof();
}

x509_ptr certificate_from(const std::string& pem) {
  bio_ptr bio{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
  if (!bio)
    return nullptr;
  return x509_ptr{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)};
}

// Reads the PEM certificate at `path`, named by the setting `setting`;
// nothing with `error` set when it cannot be read or holds none.
x509_ptr load_certificate(const char* setting, const std::string& path,
                          std::string& error) {
  std::string pem;
  if (!read_text(path, pem)) {
    error = std::string{setting} + ": cannot read " + path;
    return nullptr;
  }
  auto cert = certificate_from(pem);
  if (!cert) {
    ERR_clear_error();
    error = std::string{setting} + ": " + path + " holds no PEM certificate";
  }
  return cert;
}

int passphrase_cb(char* buf, int size, int, void* arg) {
  const auto& pass = *static_cast<const std::string*>(arg);
  if (size <= 0 || pass.size() >= static_cast<size_t>(size))
    return 0;
  pass.copy(buf, pass.size());
  return static_cast<int>(pass.size());
}

// Reads the private key of `s`; nothing with `error` set on failure.
pkey_ptr load_key(const settings& s, std::string& error) {
  std::string pass;
  if (!read_passphrase(s.tls_passphrase, pass, error)) {
    error = "tls_passphrase: " + error;
    return nullptr;
  }
  std::string pem;
  if (!read_text(s.tls_key, pem)) {
    error = "tls_key: cannot read " + s.tls_key;
    return nullptr;
  }
  bio_ptr bio{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
  pkey_ptr key{
      PEM_read_bio_PrivateKey(bio.get(), nullptr, passphrase_cb, &pass)};
  if (!key) {
    ERR_clear_error();
    error = "tls_key: " + s.tls_key
            + " is not a PEM private key that opens with "
            + (s.tls_passphrase.empty()
                   ? std::string{"no passphrase"}
                   : "the passphrase from " + s.tls_passphrase);
  }
  return key;
}

// The digest to sign with: none for the keys that hash by themselves.
const EVP_MD* digest_for(EVP_PKEY* key) {
  auto id = EVP_PKEY_id(key);
  return id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448 ? nullptr
                                                        : EVP_sha256();
}

std::string name_entry(X509_NAME* name, int nid) {
  auto pos = X509_NAME_get_index_by_NID(name, nid, -1);
  if (pos < 0)
    return {};
  auto* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, pos));
  unsigned char* utf8 = nullptr;
  auto len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0)
    return {};
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

std::string to_hex(const unsigned char* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 0xF];
  }
  return out;
}

} // namespace

bool enabled(const settings& s) {
  return !s.tls_ca.empty() || !s.tls_cert.empty() || !s.tls_key.empty()
         || !s.tls_passphrase.empty();
}

bool read_passphrase(const std::string& spec, std::string& out,
                     std::string& error) {
  out.clear();
  if (spec.empty())
    return true;
  if (spec.rfind("env:", 0) == 0) {
    auto name = spec.substr(4);
    const char* value = name.empty() ? nullptr : std::getenv(name.c_str());
    if (!value) {
      error = "the environment variable '" + name + "' named by '" + spec
              + "' is not set";
      return false;
    }
    out = value;
    return true;
  }
  if (spec.rfind("file:", 0) == 0) {
    auto path = spec.substr(5);
    std::ifstream in{path};
    if (path.empty() || !in) {
      error = "cannot read the passphrase file '" + path + "'";
      return false;
    }
    std::getline(in, out);
    if (!out.empty() && out.back() == '\r')
      out.pop_back();
    return true;
  }
  error = "'" + spec
          + "' is not a passphrase source: write file:PATH or env:NAME "
            "(the passphrase itself is never given in a setting)";
  return false;
}

std::string check(const settings& s) {
  if (!enabled(s))
    return {};
  if (s.tls_ca.empty() || s.tls_cert.empty() || s.tls_key.empty()) {
    std::string missing;
    for (auto [name, value] :
         {std::pair{"tls_ca", &s.tls_ca}, std::pair{"tls_cert", &s.tls_cert},
          std::pair{"tls_key", &s.tls_key}})
      if (value->empty())
        missing += (missing.empty() ? "" : ", ") + std::string{name};
    return "TLS needs a CA file, a certificate and a key; missing: " + missing
           + " (--tls-ca, --tls-cert, --tls-key; docs/security.md)";
  }
  std::string error;
  if (!load_certificate("tls_ca", s.tls_ca, error))
    return error;
  auto cert = load_certificate("tls_cert", s.tls_cert, error);
  if (!cert)
    return error;
  auto key = load_key(s, error);
  if (!key)
    return error;
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return "tls_key: " + s.tls_key + " is not the key of the certificate "
           + s.tls_cert;
  }
  return {};
}

std::string check_serving(const std::string& cert_path) {
  std::string error;
  auto cert = load_certificate("tls_cert", cert_path, error);
  if (!cert)
    return error;
  if (X509_check_purpose(cert.get(), X509_PURPOSE_SSL_SERVER, 0) == 1)
    return {};
  ERR_clear_error();
  return "tls_cert: " + cert_path
         + " cannot serve TLS: its key usage does not allow a TLS server "
           "(serverAuth), so every node and client would refuse this head; "
           "a head needs a certificate of the head role (quiesce certs "
           "issue NAME --role head, docs/security.md)";
}

bool prove(const settings& s, const std::string& nonce, proof& out,
           std::string& error) {
  if (!read_text(s.tls_cert, out.certificate)) {
    error = "tls_cert: cannot read " + s.tls_cert;
    return false;
  }
  auto key = load_key(s, error);
  if (!key)
    return false;
  std::unique_ptr<EVP_MD_CTX, md_ctx_free> ctx{EVP_MD_CTX_new()};
  auto text = signed_text(nonce);
  size_t len = 0;
  if (!ctx
      || EVP_DigestSignInit(ctx.get(), nullptr, digest_for(key.get()), nullptr,
                            key.get())
             != 1
      || EVP_DigestSign(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(text.data()),
                        text.size())
             != 1) {
    error = "cannot sign with " + s.tls_key + ": " + openssl_error();
    return false;
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()),
                     &len, reinterpret_cast<const unsigned char*>(text.data()),
                     text.size())
      != 1) {
    error = "cannot sign with " + s.tls_key + ": " + openssl_error();
    return false;
  }
  sig.resize(len);
  out.signature = std::move(sig);
  return true;
}

bool role_from_unit(const std::string& unit, peer_role& out) {
  if (unit == "client" || unit == "user")
    out = peer_role::user;
  else if (unit == "node")
    out = peer_role::node;
  else if (unit == "admin")
    out = peer_role::admin;
  else
    return false;
  return true;
}

struct verifier::impl {
  X509_STORE* store = nullptr;
  ~impl() {
    X509_STORE_free(store);
  }
};

verifier::verifier(const std::string& ca_file) : impl_(new impl) {
  impl_->store = X509_STORE_new();
  if (!impl_->store
      || X509_STORE_load_locations(impl_->store, ca_file.c_str(), nullptr) != 1)
    throw std::runtime_error("tls_ca: cannot load " + ca_file + ": "
                             + openssl_error());
}

verifier::~verifier() = default;

std::string verifier::nonce() {
  unsigned char buf[32];
  if (RAND_bytes(buf, sizeof(buf)) != 1)
    throw std::runtime_error("no random bytes: " + openssl_error());
  return to_hex(buf, sizeof(buf));
}

authenticate_reply verifier::verify(const std::string& nonce,
                                    const proof& p) const {
  auto refuse = [](std::string why) {
    return authenticate_reply{
        result_code::permission_denied, std::move(why), {}, {}};
  };
  if (nonce.empty())
    return refuse("no challenge was asked for (auth_challenge comes first)");
  if (p.certificate.empty() || p.certificate.size() > max_certificate
      || p.signature.empty() || p.signature.size() > max_signature)
    return refuse("no certificate and signature, or oversized ones: with TLS "
                  "a peer proves its identity with its certificate");
  auto cert = certificate_from(p.certificate);
  if (!cert) {
    ERR_clear_error();
    return refuse("the proof holds no PEM certificate");
  }
  std::unique_ptr<X509_STORE_CTX, store_ctx_free> ctx{X509_STORE_CTX_new()};
  if (!ctx
      || X509_STORE_CTX_init(ctx.get(), impl_->store, cert.get(), nullptr) != 1)
    return refuse("cannot verify: " + openssl_error());
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT);
  if (X509_verify_cert(ctx.get()) != 1) {
    auto err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return refuse(std::string{"the certificate does not verify against the "
                              "head's CA: "}
                  + X509_verify_cert_error_string(err));
  }
  auto* key = X509_get0_pubkey(cert.get());
  std::unique_ptr<EVP_MD_CTX, md_ctx_free> md{EVP_MD_CTX_new()};
  auto text = signed_text(nonce);
  if (!key || !md
      || EVP_DigestVerifyInit(md.get(), nullptr, digest_for(key), nullptr, key)
             != 1
      || EVP_DigestVerify(
             md.get(),
             reinterpret_cast<const unsigned char*>(p.signature.data()),
             p.signature.size(),
             reinterpret_cast<const unsigned char*>(text.data()), text.size())
             != 1) {
    ERR_clear_error();
    return refuse("the signature over the head's nonce is not made by the "
                  "certificate's key");
  }
  auto* subject = X509_get_subject_name(cert.get());
  auto name = name_entry(subject, NID_commonName);
  auto unit = name_entry(subject, NID_organizationalUnitName);
  if (name.empty())
    return refuse("the certificate's subject has no CN (the identity's name)");
  peer_role role;
  if (!role_from_unit(unit, role))
    return refuse("the certificate of " + name + " names the role '" + unit
                  + "' (subject OU); a peer's role is client, node or admin");
  return authenticate_reply{result_code::ok, {}, identity{name, role}, {}};
}

} // namespace quiesce::tls

namespace quiesce {

std::string configure_tls(caf::actor_system_config& cfg, const settings& s) {
  if (!tls::enabled(s))
    return {};
  if (auto err = tls::check(s); !err.empty())
    return err;
  std::string pass;
  std::string error;
  if (!tls::read_passphrase(s.tls_passphrase, pass, error))
    return "tls_passphrase: " + error;
  cfg.load<caf::openssl::manager>();
  // Setting any of these makes CAF require and verify a certificate on both
  // ends of every connection (SSL_VERIFY_PEER |
  // SSL_VERIFY_FAIL_IF_NO_PEER_CERT, docs/security.md).
  cfg.openssl_cafile = s.tls_ca;
  cfg.openssl_certificate = s.tls_cert;
  cfg.openssl_key = s.tls_key;
  cfg.openssl_passphrase = pass;
  return {};
}

} // namespace quiesce
