// gpg: OpenPGP through GPGME only (no shelling out to gpg for these operations).
//
// A Keyring is one GnuPG home. The instance key lives in $MBD_HOME/gnupg; every
// trust set (uploaders, remotes, ...) is a keyring of its own, so verifying
// against a set can never accept a key of another set. Signatures we make are
// OpenPGP v4 over SHA-512 (apt's sqv in Debian 13 rejects SHA-1 and v3), and
// we accept only v4 signatures over SHA-256 or stronger: both are checked on
// the signature packets themselves (signature_packets() below).
// Verification returns only the signed content and the primary-key fingerprint
// of the signer; its failures have distinct exit codes (core/error.hpp):
// bad_signature (bad, tampered, unsigned, v3 or weak digest, unknown key, text
// outside the signature, more than one signature), key_expired, key_revoked.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct gpgme_context; // (gpgme.h)

namespace mbd::gpg {

enum class Algo { rsa4096, ed25519 };
std::optional<Algo> parse_algo(std::string_view name); // "rsa4096", "ed25519"

struct KeyInfo {
    std::string fingerprint; // primary key, 40 (v4) upper-case hex digits
    std::string algorithm;   // "rsa4096", "ed25519", ...
    std::string user_id;     // first user id, "Name <mail>"
    long long created = 0;   // unix seconds
    long long expires = 0;   // 0: never
    bool expired = false;
    bool revoked = false;
    bool disabled = false;
    bool invalid = false;
    bool can_sign = false;   // has a usable signing (sub)key
    bool secret = false;     // secret key present in this keyring
};

struct Verified {
    std::string content;     // the signed text only
    std::string fingerprint; // primary key of the signer
    long long signed_at = 0;
};

struct VerifiedAll {
    std::string content;
    std::vector<std::string> fingerprints; // primary keys of the signers, in the document's order
};

class Keyring {
public:
    // Opens (creating with mode 0700 if missing) the GnuPG home at dir. A
    // public-only home (a trust set) never starts a gpg-agent and holds no
    // secret key.
    enum class Kind { secret, public_only };
    explicit Keyring(std::filesystem::path dir, Kind kind = Kind::secret);
    ~Keyring();
    Keyring(Keyring&&) noexcept;
    Keyring(const Keyring&) = delete;
    Keyring& operator=(const Keyring&) = delete;

    const std::filesystem::path& dir() const { return dir_; }

    // Create a passphrase-less signing key. expires_in_seconds 0: never.
    KeyInfo generate(const std::string& user_id, Algo algo, long long expires_in_seconds);

    std::vector<KeyInfo> list(bool secret_only = false) const;
    std::optional<KeyInfo> find(std::string_view fingerprint) const;
    // The keys in armored or binary key data, without importing them.
    std::vector<KeyInfo> inspect_keys(std::string_view data) const;

    // Import armored or binary key data; returns the primary fingerprints found in it.
    // Secret keys in the data are refused (Error(Exit::rejected)).
    std::vector<std::string> import_keys(std::string_view data);
    std::string export_key(std::string_view fingerprint, bool armor) const;
    // The armored secret key (for a backup before the key leaves the keyring).
    std::string export_secret_key(std::string_view fingerprint) const;
    void remove_key(std::string_view fingerprint);
    // New expiry of a secret key's primary key, counted from now; 0: never.
    void set_expiry(std::string_view fingerprint, long long expires_in_seconds);

    // Signatures by the given secret key (its fingerprint).
    std::string clearsign(std::string_view text, std::string_view signer) const;
    std::string detach_sign(std::string_view data, std::string_view signer) const; // armored

    // Both signatures of an archive's Release, one by each signer (two during a key
    // rotation): Release.gpg (detached, armored) and InRelease (clearsigned), made side
    // by side.
    struct ReleaseSignatures {
        std::string detached, clearsigned;
    };
    ReleaseSignatures sign_release(std::string_view release, const std::vector<std::string>& signers) const;

    // Verify a clearsigned document against the keys of this keyring.
    Verified verify_clearsigned(std::string_view document) const;
    // Verify a detached signature over data; returns the signer's fingerprint.
    std::string verify_detached(std::string_view data, std::string_view signature) const;

    // Archive signatures (a Debian InRelease, Release.gpg): several signatures are
    // allowed; at least one must be valid and made by a key of this keyring, those
    // by unknown keys are ignored (apt's rule). Returns the first good signer.
    Verified verify_archive_clearsigned(std::string_view document) const;
    // Our own archive's signatures (one, or one per key during a key rotation): every
    // signature must be good and made by a key of this keyring.
    VerifiedAll verify_clearsigned_all(std::string_view document) const;
    std::vector<std::string> verify_detached_all(std::string_view data, std::string_view signature) const;
    std::string verify_archive_detached(std::string_view data, std::string_view signature) const;

private:
    struct Impl;
    ::gpgme_context* new_context() const; // on this home, set up as every context of the keyring
    std::filesystem::path dir_;
    Kind kind_;
    Impl* impl_;
};

// Strict envelope check of a clearsigned document: it must start with the
// "BEGIN PGP SIGNED MESSAGE" line and end after the signature block, with
// exactly one of each. Error(Exit::bad_signature) otherwise.
void check_clearsign_envelope(std::string_view document);

// What one OpenPGP signature packet says about itself (RFC 4880 5.2).
struct SignatureInfo {
    int version = 0;                // 3 or 4 (we accept 4 only)
    int hash_algo = 0;              // RFC 4880 9.4: 2 SHA1, 8 SHA256, 9 SHA384, 10 SHA512, ...
    int pubkey_algo = 0;            // RFC 4880 9.1: 1 RSA, 22 EdDSA, ...
    std::string issuer_fingerprint; // upper-case hex from the issuer fingerprint subpacket, or empty
    std::string issuer_key_id;      // upper-case hex, 16 digits, or empty
};
// The signature packets of an armored or binary signature, or of the
// signature block of a clearsigned document. Error(Exit::bad_signature) when
// there is no signature or it holds anything but signature packets.
std::vector<SignatureInfo> signature_packets(std::string_view signature);
// Exactly one signature, OpenPGP v4, digest SHA-256 or stronger (what apt's
// sqv accepts); Error(Exit::bad_signature) naming what is wrong otherwise.
SignatureInfo require_strong_signature(std::string_view signature);
std::string_view hash_name(int hash_algo); // "SHA256", "SHA1", "hash 99"

// "0123 4567 ..." grouping of a fingerprint for humans to compare.
std::string pretty_fingerprint(std::string_view fingerprint);
bool valid_fingerprint(std::string_view fingerprint);

} // namespace mbd::gpg
