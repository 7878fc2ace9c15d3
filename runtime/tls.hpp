#pragma once

// Mutual TLS between head, nodes and clients (internal; docs/security.md):
// checking the TLS settings before anything starts, reading the key's
// passphrase from its source, and the proof of identity a peer gives once
// connected (CAF's OpenSSL module verifies the peer's chain during the
// handshake but hands no certificate to actors, so a peer signs a nonce of
// the head with its certificate's key and sends the certificate along).
// No CAF type appears here.

#include "config/settings.hpp"
#include "messages/auth.hpp"

#include <memory>
#include <string>

namespace quiesce::tls {

/// Returns whether `s` asks for TLS: any of `tls_ca`, `tls_cert`, `tls_key`
/// or `tls_passphrase` set.
bool enabled(const settings& s);

/// Checks the TLS settings of `s`: all of CA, certificate and key set, each
/// file readable and of the right kind, the passphrase source well formed
/// and readable, the key opened with it and matching the certificate.
/// Returns "" or what is wrong (naming the setting and the file).
std::string check(const settings& s);

/// Checks that the certificate at `cert_path` can serve TLS: a head's
/// certificate with an extended key usage must allow `serverAuth`, since
/// nodes and clients refuse any other (a client's certificate, `clientAuth`
/// only, would start a head that nobody can reach). Returns "" or what is
/// wrong (naming the setting and the file).
std::string check_serving(const std::string& cert_path);

/// Reads the passphrase from the source `spec` ("file:PATH", first line, or
/// "env:NAME"; "" is no passphrase). Returns false with `error` set when the
/// source is malformed or cannot be read.
bool read_passphrase(const std::string& spec, std::string& out,
                     std::string& error);

/// A peer's proof of identity: its certificate (PEM) and its signature over
/// a head's nonce.
struct proof {
  std::string certificate;
  std::string signature;
};

/// Signs `nonce` with the key of `s` into `out` (with the certificate of
/// `s`); returns false with `error` set when the key cannot be used.
bool prove(const settings& s, const std::string& nonce, proof& out,
           std::string& error);

/// The head's side: the CA that every peer certificate must chain to.
class verifier {
public:
  /// Loads the CA file; throws std::runtime_error when it cannot.
  explicit verifier(const std::string& ca_file);
  ~verifier();

  verifier(const verifier&) = delete;
  verifier& operator=(const verifier&) = delete;

  /// Returns a fresh random nonce (hex).
  static std::string nonce();

  /// Checks `p` against `nonce`: the certificate chains to the CA, is
  /// within its validity and fit for a TLS client, the signature over the
  /// nonce is made by its key, and its subject names a role. Returns `ok`
  /// with the identity (subject CN and role from the subject OU), or
  /// `permission_denied` and why.
  authenticate_reply verify(const std::string& nonce, const proof& p) const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// The roles a certificate's subject OU may name: "client" (a user), "node",
/// "admin"; and "head" for the head's own certificate (not accepted from a
/// peer).
bool role_from_unit(const std::string& unit, peer_role& out);

} // namespace quiesce::tls
