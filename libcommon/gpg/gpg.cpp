#include "gpg/gpg.hpp"

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/strings.hpp"

#include <gpgme.h>

#include <algorithm>
#include <clocale>
#include <map>
#include <mutex>
#include <sys/stat.h>

namespace mbd::gpg {
namespace {

// Our homes prefer strong digests for everything they sign.
constexpr std::string_view gpg_conf = "# written by mbd\n"
                                      "personal-digest-preferences SHA512 SHA384 SHA256\n"
                                      "digest-algo SHA512\n"
                                      "cert-digest-algo SHA512\n"
                                      "no-auto-key-retrieve\n"
                                      "no-greeting\n";

void init_gpgme()
{
    static std::once_flag once;
    std::call_once(once, [] {
        gpgme_check_version(nullptr);
        gpgme_set_locale(nullptr, LC_CTYPE, std::setlocale(LC_CTYPE, nullptr));
        if (gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP) != 0)
            throw fail(Exit::environment, "GnuPG is not usable through GPGME (apt-get install gnupg)");
    });
}

std::string err_text(gpgme_error_t err) { return gpgme_strerror(err); }

[[noreturn]] void throw_gpg(gpgme_error_t err, std::string_view what, Exit code = Exit::failed)
{
    if (gpgme_err_code(err) == GPG_ERR_ENOSPC)
        code = Exit::no_space;
    throw fail(code, "{}: {}", what, err_text(err));
}

// RAII wrappers for GPGME objects.
struct Data {
    gpgme_data_t d = nullptr;
    Data()
    {
        if (auto err = gpgme_data_new(&d))
            throw_gpg(err, "cannot allocate GPGME data");
    }
    explicit Data(std::string_view mem)
    {
        if (auto err = gpgme_data_new_from_mem(&d, mem.data(), mem.size(), 0))
            throw_gpg(err, "cannot allocate GPGME data");
    }
    ~Data()
    {
        if (d)
            gpgme_data_release(d);
    }
    Data(const Data&) = delete;
    Data& operator=(const Data&) = delete;
    std::string take()
    {
        size_t len = 0;
        char* buf = gpgme_data_release_and_get_mem(d, &len);
        d = nullptr;
        std::string out(buf ? buf : "", buf ? len : 0);
        gpgme_free(buf);
        return out;
    }
};

struct Key {
    gpgme_key_t k = nullptr;
    ~Key()
    {
        if (k)
            gpgme_key_unref(k);
    }
};

bool weak_digest(gpgme_hash_algo_t algo)
{
    return algo == GPGME_MD_MD5 || algo == GPGME_MD_SHA1 || algo == GPGME_MD_RMD160 || algo == GPGME_MD_MD2 ||
           algo == GPGME_MD_NONE;
}

KeyInfo info_of(gpgme_key_t key)
{
    KeyInfo i;
    i.fingerprint = key->fpr ? key->fpr : "";
    if (key->subkeys) {
        char* algo = gpgme_pubkey_algo_string(key->subkeys);
        i.algorithm = algo ? algo : "unknown";
        gpgme_free(algo);
        i.created = key->subkeys->timestamp;
        i.expires = key->subkeys->expires;
    }
    if (key->uids && key->uids->uid)
        i.user_id = key->uids->uid;
    i.expired = key->expired;
    i.revoked = key->revoked;
    i.disabled = key->disabled;
    i.invalid = key->invalid;
    i.can_sign = key->can_sign;
    i.secret = key->secret;
    return i;
}

size_t count_line_starts(std::string_view doc, std::string_view marker)
{
    size_t n = 0;
    for (size_t pos = doc.find(marker); pos != std::string_view::npos; pos = doc.find(marker, pos + 1))
        if (pos == 0 || doc[pos - 1] == '\n')
            ++n;
    return n;
}

} // namespace

struct Keyring::Impl {
    gpgme_ctx_t ctx = nullptr;
    std::map<std::string, gpgme_key_t> signers; // looked up once per Keyring (each look-up runs gpg)
    ~Impl()
    {
        for (auto& [fpr, key] : signers)
            gpgme_key_unref(key);
        if (ctx)
            gpgme_release(ctx);
    }
};

std::optional<Algo> parse_algo(std::string_view name)
{
    if (name == "rsa4096")
        return Algo::rsa4096;
    if (name == "ed25519")
        return Algo::ed25519;
    return std::nullopt;
}

bool valid_fingerprint(std::string_view f)
{
    if (f.size() != 40 && f.size() != 64)
        return false;
    return std::all_of(f.begin(), f.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
    });
}

std::string pretty_fingerprint(std::string_view f)
{
    std::string out;
    for (size_t i = 0; i < f.size(); i += 4) {
        if (i)
            out += (i == f.size() / 2) ? "  " : " ";
        out += f.substr(i, 4);
    }
    return out;
}

void check_clearsign_envelope(std::string_view doc)
{
    constexpr std::string_view begin = "-----BEGIN PGP SIGNED MESSAGE-----";
    constexpr std::string_view sig = "-----BEGIN PGP SIGNATURE-----";
    constexpr std::string_view end = "-----END PGP SIGNATURE-----";
    if (!doc.starts_with(begin))
        throw Error(Exit::bad_signature, doc.find(begin) == std::string_view::npos
                                             ? "not signed (no OpenPGP clearsigned message)"
                                             : "unsigned text before the signed message");
    if (count_line_starts(doc, begin) != 1 || count_line_starts(doc, sig) != 1 || count_line_starts(doc, end) != 1)
        throw fail(Exit::bad_signature, "more than one signed message or signature in the document");
    auto end_at = doc.find(end);
    if (end_at < doc.find(sig))
        throw fail(Exit::bad_signature, "malformed signed message");
    if (!trim(doc.substr(end_at + end.size())).empty())
        throw fail(Exit::bad_signature, "unsigned text after the signature");
}

Keyring::Keyring(std::filesystem::path dir) : dir_(std::move(dir)), impl_(new Impl)
{
    init_gpgme();
    make_dirs(dir_, 0700);
    ::chmod(dir_.c_str(), 0700);
    std::error_code ec;
    if (!std::filesystem::exists(dir_ / "gpg.conf", ec))
        write_atomic(dir_ / "gpg.conf", gpg_conf, 0600);
    if (auto err = gpgme_new(&impl_->ctx))
        throw_gpg(err, "cannot create a GPGME context");
    gpgme_set_protocol(impl_->ctx, GPGME_PROTOCOL_OpenPGP);
    if (auto err = gpgme_ctx_set_engine_info(impl_->ctx, GPGME_PROTOCOL_OpenPGP, nullptr, dir_.c_str()))
        throw_gpg(err, fmt::format("cannot use GnuPG home '{}'", dir_.string()), Exit::environment);
    gpgme_set_pinentry_mode(impl_->ctx, GPGME_PINENTRY_MODE_LOOPBACK);
    gpgme_set_keylist_mode(impl_->ctx, GPGME_KEYLIST_MODE_LOCAL | GPGME_KEYLIST_MODE_WITH_SECRET);
    gpgme_set_offline(impl_->ctx, 1);
    log::debug("gpg", "keyring '{}'", dir_.string());
}

Keyring::~Keyring() { delete impl_; }

Keyring::Keyring(Keyring&& other) noexcept : dir_(std::move(other.dir_)), impl_(other.impl_) { other.impl_ = nullptr; }

KeyInfo Keyring::generate(const std::string& user_id, Algo algo, long long expires_in_seconds)
{
    unsigned flags = GPGME_CREATE_SIGN | GPGME_CREATE_CERT | GPGME_CREATE_NOPASSWD | GPGME_CREATE_FORCE;
    if (expires_in_seconds <= 0)
        flags |= GPGME_CREATE_NOEXPIRE;
    const char* algo_name = algo == Algo::rsa4096 ? "rsa4096" : "ed25519";
    log::debug("gpg", "generating {} key for '{}'", algo_name, user_id);
    if (auto err = gpgme_op_createkey(impl_->ctx, user_id.c_str(), algo_name, 0,
                                      expires_in_seconds > 0 ? static_cast<unsigned long>(expires_in_seconds) : 0,
                                      nullptr, flags))
        throw_gpg(err, "cannot create the key");
    gpgme_genkey_result_t r = gpgme_op_genkey_result(impl_->ctx);
    if (!r || !r->fpr)
        throw fail(Exit::failed, "key creation returned no fingerprint");
    auto info = find(r->fpr);
    if (!info)
        throw fail(Exit::failed, "the new key '{}' is not in the keyring", r->fpr);
    return *info;
}

std::vector<KeyInfo> Keyring::list(bool secret_only) const
{
    std::vector<KeyInfo> out;
    if (auto err = gpgme_op_keylist_start(impl_->ctx, nullptr, secret_only ? 1 : 0))
        throw_gpg(err, "cannot list keys");
    while (true) {
        gpgme_key_t key = nullptr;
        auto err = gpgme_op_keylist_next(impl_->ctx, &key);
        if (gpgme_err_code(err) == GPG_ERR_EOF)
            break;
        if (err)
            throw_gpg(err, "cannot list keys");
        out.push_back(info_of(key));
        gpgme_key_unref(key);
    }
    gpgme_op_keylist_end(impl_->ctx);
    return out;
}

std::optional<KeyInfo> Keyring::find(std::string_view fingerprint) const
{
    if (!valid_fingerprint(fingerprint))
        return std::nullopt; // never a pattern search on user ids
    Key key;
    std::string fpr(fingerprint);
    auto err = gpgme_get_key(impl_->ctx, fpr.c_str(), &key.k, 0);
    if (gpgme_err_code(err) == GPG_ERR_EOF || (!err && !key.k))
        return std::nullopt;
    if (err)
        throw_gpg(err, fmt::format("cannot look up key {}", fpr));
    if (!iequals(key.k->fpr ? key.k->fpr : "", fpr)) {
        // found through a subkey: still the primary key's info
        bool sub = false;
        for (auto s = key.k->subkeys; s; s = s->next)
            if (s->fpr && iequals(s->fpr, fpr))
                sub = true;
        if (!sub)
            return std::nullopt;
    }
    return info_of(key.k);
}

std::vector<std::string> Keyring::import_keys(std::string_view data)
{
    if (data.find("-----BEGIN PGP PRIVATE KEY BLOCK-----") != std::string_view::npos)
        throw fail(Exit::rejected, "refusing to import a secret key");
    if (!data.empty() && (static_cast<unsigned char>(data[0]) & 0x80)) {
        auto b = static_cast<unsigned char>(data[0]);
        int tag = (b & 0x40) ? (b & 0x3f) : ((b >> 2) & 0x0f);
        if (tag == 5 || tag == 7)
            throw fail(Exit::rejected, "refusing to import a secret key");
    }
    Data in(data);
    if (auto err = gpgme_op_import(impl_->ctx, in.d))
        throw_gpg(err, "cannot import keys", Exit::rejected);
    gpgme_import_result_t r = gpgme_op_import_result(impl_->ctx);
    std::vector<std::string> fprs;
    for (auto s = r ? r->imports : nullptr; s; s = s->next) {
        if (s->result != 0 || !s->fpr)
            continue;
        if (std::find(fprs.begin(), fprs.end(), s->fpr) == fprs.end())
            fprs.emplace_back(s->fpr);
    }
    if (fprs.empty())
        throw fail(Exit::rejected, "no usable OpenPGP public key in the data");
    log::debug("gpg", "imported {} into '{}'", fmt::join(fprs, ", "), dir_.string());
    return fprs;
}

std::string Keyring::export_key(std::string_view fingerprint, bool armor) const
{
    if (!find(fingerprint))
        throw fail(Exit::not_found, "no key {} in '{}'", fingerprint, dir_.string());
    Data out;
    std::string fpr(fingerprint);
    gpgme_set_armor(impl_->ctx, armor ? 1 : 0);
    auto err = gpgme_op_export(impl_->ctx, fpr.c_str(), 0, out.d);
    gpgme_set_armor(impl_->ctx, 0);
    if (err)
        throw_gpg(err, fmt::format("cannot export key {}", fpr));
    std::string data = out.take();
    if (data.empty())
        throw fail(Exit::not_found, "no key {} in '{}'", fpr, dir_.string());
    return data;
}

void Keyring::remove_key(std::string_view fingerprint)
{
    Key key;
    std::string fpr(fingerprint);
    if (!valid_fingerprint(fpr) || gpgme_get_key(impl_->ctx, fpr.c_str(), &key.k, 0) || !key.k)
        throw fail(Exit::not_found, "no key {} in '{}'", fpr, dir_.string());
    if (auto err = gpgme_op_delete_ext(impl_->ctx, key.k, GPGME_DELETE_ALLOW_SECRET | GPGME_DELETE_FORCE))
        throw_gpg(err, fmt::format("cannot remove key {}", fpr));
}

namespace {

std::string sign(gpgme_ctx_t ctx, std::map<std::string, gpgme_key_t>& signers, std::string_view text,
                 std::string_view signer, gpgme_sig_mode_t mode)
{
    std::string fpr(signer);
    auto cached = signers.find(fpr);
    if (cached == signers.end()) {
        Key key;
        if (!valid_fingerprint(fpr) || gpgme_get_key(ctx, fpr.c_str(), &key.k, 1) || !key.k)
            throw fail(Exit::not_found, "no secret key {} to sign with", fpr);
        if (key.k->expired)
            throw fail(Exit::key_expired, "the signing key {} has expired", fpr);
        if (key.k->revoked)
            throw fail(Exit::key_revoked, "the signing key {} is revoked", fpr);
        cached = signers.emplace(fpr, key.k).first;
        key.k = nullptr; // owned by the cache now
    }
    gpgme_signers_clear(ctx);
    if (auto err = gpgme_signers_add(ctx, cached->second))
        throw_gpg(err, "cannot use the signing key");
    gpgme_set_armor(ctx, 1);
    Data in(text), out;
    auto err = gpgme_op_sign(ctx, in.d, out.d, mode);
    gpgme_set_armor(ctx, 0);
    gpgme_signers_clear(ctx);
    if (err)
        throw_gpg(err, fmt::format("cannot sign with key {}", fpr));
    gpgme_sign_result_t r = gpgme_op_sign_result(ctx);
    if (!r || !r->signatures || r->invalid_signers)
        throw fail(Exit::failed, "signing with key {} produced no signature", fpr);
    if (weak_digest(r->signatures->hash_algo))
        throw fail(Exit::failed, "signing used the weak digest {}", gpgme_hash_algo_name(r->signatures->hash_algo));
    return out.take();
}

struct SigCheck {
    std::string fingerprint;
    long long timestamp = 0;
};

SigCheck check_signature(gpgme_ctx_t ctx, gpgme_signature_t s);

// Exactly one signature, valid; or (any) at least one valid signature among several,
// those by keys this keyring does not have being ignored (apt's rule for archives).
SigCheck check_signatures(gpgme_ctx_t ctx, bool any = false)
{
    gpgme_verify_result_t r = gpgme_op_verify_result(ctx);
    if (!r || !r->signatures)
        throw fail(Exit::bad_signature, "not signed");
    if (!any) {
        if (r->signatures->next)
            throw fail(Exit::bad_signature, "signed more than once");
        return check_signature(ctx, r->signatures);
    }
    std::optional<Error> first;
    for (gpgme_signature_t s = r->signatures; s; s = s->next) {
        try {
            return check_signature(ctx, s);
        } catch (const Error& e) {
            if (!first || (first->code() == Exit::bad_signature && gpgme_err_code(s->status) != GPG_ERR_NO_PUBKEY))
                first = e;
        }
    }
    throw *first;
}

SigCheck check_signature(gpgme_ctx_t ctx, gpgme_signature_t s)
{
    std::string id = s->fpr ? s->fpr : "?";
    switch (gpgme_err_code(s->status)) {
    case GPG_ERR_NO_ERROR: break;
    case GPG_ERR_BAD_SIGNATURE: throw fail(Exit::bad_signature, "bad signature by {} (changed after signing?)", id);
    case GPG_ERR_NO_PUBKEY: throw fail(Exit::bad_signature, "signed by unknown key {}", id);
    case GPG_ERR_KEY_EXPIRED: throw fail(Exit::key_expired, "signed by expired key {}", id);
    case GPG_ERR_CERT_REVOKED: throw fail(Exit::key_revoked, "signed by revoked key {}", id);
    case GPG_ERR_SIG_EXPIRED: throw fail(Exit::bad_signature, "the signature by {} has expired", id);
    default: throw fail(Exit::bad_signature, "signature by {} not valid: {}", id, err_text(s->status));
    }
    if (s->summary & GPGME_SIGSUM_KEY_REVOKED)
        throw fail(Exit::key_revoked, "signed by revoked key {}", id);
    if (s->summary & GPGME_SIGSUM_KEY_EXPIRED)
        throw fail(Exit::key_expired, "signed by expired key {}", id);
    if (s->summary & (GPGME_SIGSUM_RED | GPGME_SIGSUM_SIG_EXPIRED | GPGME_SIGSUM_BAD_POLICY))
        throw fail(Exit::bad_signature, "signature by {} not valid", id);
    if (weak_digest(s->hash_algo))
        throw fail(Exit::bad_signature, "signature by {} uses the weak digest {}", id,
                   gpgme_hash_algo_name(s->hash_algo) ? gpgme_hash_algo_name(s->hash_algo) : "?");
    // The primary key that holds the signing (sub)key, and its state now.
    Key key;
    if (gpgme_get_key(ctx, id.c_str(), &key.k, 0) || !key.k)
        throw fail(Exit::bad_signature, "signed by unknown key {}", id);
    if (key.k->revoked)
        throw fail(Exit::key_revoked, "signed by revoked key {}", key.k->fpr);
    if (key.k->expired)
        throw fail(Exit::key_expired, "signed by expired key {}", key.k->fpr);
    for (auto sub = key.k->subkeys; sub; sub = sub->next) {
        if (sub->fpr && iequals(sub->fpr, id)) {
            if (sub->revoked)
                throw fail(Exit::key_revoked, "signed by revoked subkey {}", id);
            if (sub->expired)
                throw fail(Exit::key_expired, "signed by expired subkey {}", id);
        }
    }
    return {key.k->fpr, static_cast<long long>(s->timestamp)};
}

} // namespace

std::string Keyring::clearsign(std::string_view text, std::string_view signer) const
{
    return sign(impl_->ctx, impl_->signers, text, signer, GPGME_SIG_MODE_CLEAR);
}

std::string Keyring::detach_sign(std::string_view data, std::string_view signer) const
{
    return sign(impl_->ctx, impl_->signers, data, signer, GPGME_SIG_MODE_DETACH);
}

Verified Keyring::verify_clearsigned(std::string_view document) const
{
    check_clearsign_envelope(document);
    Data sig(document), plain;
    if (auto err = gpgme_op_verify(impl_->ctx, sig.d, nullptr, plain.d))
        throw_gpg(err, "cannot verify the signature", Exit::bad_signature);
    auto check = check_signatures(impl_->ctx);
    log::debug("gpg", "good signature by {}", check.fingerprint);
    return {plain.take(), check.fingerprint, check.timestamp};
}

std::string Keyring::verify_detached(std::string_view data, std::string_view signature) const
{
    Data sig(signature), text(data);
    if (auto err = gpgme_op_verify(impl_->ctx, sig.d, text.d, nullptr))
        throw_gpg(err, "cannot verify the signature", Exit::bad_signature);
    return check_signatures(impl_->ctx).fingerprint;
}

Verified Keyring::verify_archive_clearsigned(std::string_view document) const
{
    Data sig(document), plain;
    if (auto err = gpgme_op_verify(impl_->ctx, sig.d, nullptr, plain.d))
        throw_gpg(err, "cannot verify the signature", Exit::bad_signature);
    auto check = check_signatures(impl_->ctx, true);
    return {plain.take(), check.fingerprint, check.timestamp};
}

std::string Keyring::verify_archive_detached(std::string_view data, std::string_view signature) const
{
    Data sig(signature), text(data);
    if (auto err = gpgme_op_verify(impl_->ctx, sig.d, text.d, nullptr))
        throw_gpg(err, "cannot verify the signature", Exit::bad_signature);
    return check_signatures(impl_->ctx, true).fingerprint;
}

} // namespace mbd::gpg
