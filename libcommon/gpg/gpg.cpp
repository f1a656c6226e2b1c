#include "gpg/gpg.hpp"

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"

#include <gpgme.h>
#include <openssl/evp.h>

#include <algorithm>
#include <clocale>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <cerrno>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mbd::gpg {
namespace {

// Our homes prefer strong digests for everything they sign.
constexpr std::string_view gpg_conf = "# written by mbd\n"
                                      "personal-digest-preferences SHA512 SHA384 SHA256\n"
                                      "digest-algo SHA512\n"
                                      "cert-digest-algo SHA512\n"
                                      "no-auto-key-retrieve\n"
                                      "no-greeting\n";

// GPGME set up once, with the home of the first key ring opened as its default home: a
// context on that home needs no engine info of its own, which costs a `gpg --version`
// per context (a tool mostly opens its instance's home, often more than once). Returns
// that home.
const std::filesystem::path& init_gpgme(const std::filesystem::path& home)
{
    static std::once_flag once;
    static std::filesystem::path first;
    std::call_once(once, [&] {
        // gpg is where Debian puts it: no gpgconf/gpgsm probing at start-up (~30 ms of every tool run)
        gpgme_set_global_flag("disable-gpgconf", "1");
        gpgme_check_version(nullptr);
        gpgme_set_locale(nullptr, LC_CTYPE, std::setlocale(LC_CTYPE, nullptr));
        if (gpgme_set_engine_info(GPGME_PROTOCOL_OpenPGP, nullptr, home.c_str()) != 0 ||
            gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP) != 0)
            throw fail(Exit::environment, "GnuPG is not usable through GPGME (apt-get install gnupg)");
        first = home;
    });
    return first;
}

std::string err_text(gpgme_error_t err) { return gpgme_strerror(err); }

// The key fpr (secret: with its secret part) by a key listing on ctx itself; nullptr when
// there is none. (gpgme_get_key lists on a context of its own, which runs `gpg --version`
// first: not to be used where ctx holds a result still read, such as a verification's.)
gpgme_error_t lookup_key(gpgme_ctx_t ctx, const std::string& fpr, bool secret, gpgme_key_t* out)
{
    *out = nullptr;
    if (auto err = gpgme_op_keylist_start(ctx, fpr.c_str(), secret ? 1 : 0))
        return err;
    auto err = gpgme_op_keylist_next(ctx, out);
    gpgme_op_keylist_end(ctx);
    return gpgme_err_code(err) == GPG_ERR_EOF ? 0 : err;
}

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

// The bytes of the first "BEGIN PGP SIGNATURE" armor block (RFC 4880 6.2).
std::string dearmor_signature(std::string_view text)
{
    constexpr std::string_view begin = "-----BEGIN PGP SIGNATURE-----";
    size_t at = 0;
    while ((at = text.find(begin, at)) != std::string_view::npos && at != 0 && text[at - 1] != '\n')
        ++at;
    if (at == std::string_view::npos)
        throw fail(Exit::bad_signature, "not signed (no OpenPGP signature block)");
    std::string b64;
    bool headers = true;
    size_t pos = text.find('\n', at);
    while (pos != std::string_view::npos && pos + 1 < text.size()) {
        size_t next = text.find('\n', pos + 1);
        auto line = trim(text.substr(pos + 1, next == std::string_view::npos ? next : next - pos - 1));
        pos = next;
        if (headers && (line.empty() || line.find(": ") != std::string_view::npos)) {
            headers = !line.empty();
            continue;
        }
        headers = false;
        if (line.starts_with("-----") || (line.starts_with('=') && line.size() == 5))
            break; // end line or CRC-24 checksum
        b64 += line;
    }
    std::string out(b64.size() / 4 * 3 + 3, '\0');
    EVP_ENCODE_CTX* ctx = EVP_ENCODE_CTX_new();
    int len = 0, tail = 0;
    EVP_DecodeInit(ctx);
    int ok = EVP_DecodeUpdate(ctx, reinterpret_cast<unsigned char*>(out.data()), &len,
                              reinterpret_cast<const unsigned char*>(b64.data()), int(b64.size()));
    if (ok >= 0)
        ok = EVP_DecodeFinal(ctx, reinterpret_cast<unsigned char*>(out.data()) + len, &tail);
    EVP_ENCODE_CTX_free(ctx);
    if (ok < 0)
        throw fail(Exit::bad_signature, "malformed signature armor");
    out.resize(size_t(len + tail));
    return out;
}

std::string hex_upper(std::string_view bytes)
{
    std::string out;
    for (unsigned char c : bytes)
        out += fmt::format("{:02X}", c);
    return out;
}

// Issuer subpackets of one v4 subpacket area (RFC 4880 5.2.3.1).
void read_subpackets(std::string_view area, SignatureInfo& info)
{
    size_t i = 0;
    while (i < area.size()) {
        auto o1 = static_cast<unsigned char>(area[i]);
        size_t len = 0;
        if (o1 < 192) {
            len = o1;
            i += 1;
        } else if (o1 < 255 && i + 1 < area.size()) {
            len = ((o1 - 192u) << 8) + static_cast<unsigned char>(area[i + 1]) + 192u;
            i += 2;
        } else if (o1 == 255 && i + 4 < area.size()) {
            len = 0;
            for (int k = 1; k <= 4; ++k)
                len = (len << 8) | static_cast<unsigned char>(area[i + size_t(k)]);
            i += 5;
        } else {
            throw fail(Exit::bad_signature, "malformed signature subpacket");
        }
        if (len == 0 || i + len > area.size())
            throw fail(Exit::bad_signature, "malformed signature subpacket");
        int type = static_cast<unsigned char>(area[i]) & 0x7f;
        auto body = area.substr(i + 1, len - 1);
        if (type == 16 && body.size() == 8)
            info.issuer_key_id = hex_upper(body);
        else if (type == 33 && body.size() > 1)
            info.issuer_fingerprint = hex_upper(body.substr(1));
        i += len;
    }
}

SignatureInfo read_signature(std::string_view body)
{
    SignatureInfo info;
    auto byte = [&](size_t i) -> int {
        if (i >= body.size())
            throw fail(Exit::bad_signature, "truncated signature packet");
        return static_cast<unsigned char>(body[i]);
    };
    info.version = byte(0);
    if (info.version == 3) { // version, 5, class, time(4), key id(8), pubkey algo, hash algo
        info.pubkey_algo = byte(15);
        info.hash_algo = byte(16);
        info.issuer_key_id = hex_upper(body.substr(7, 8));
    } else if (info.version == 4) { // version, class, pubkey algo, hash algo, hashed area, unhashed area
        info.pubkey_algo = byte(2);
        info.hash_algo = byte(3);
        size_t hashed = size_t(byte(4) << 8 | byte(5));
        byte(6 + hashed + 1);
        size_t unhashed = size_t(byte(6 + hashed) << 8 | byte(7 + hashed));
        byte(8 + hashed + unhashed - 1);
        read_subpackets(body.substr(6, hashed), info);
        read_subpackets(body.substr(8 + hashed, unhashed), info);
    }
    return info;
}

size_t count_line_starts(std::string_view doc, std::string_view marker)
{
    size_t n = 0;
    for (size_t pos = doc.find(marker); pos != std::string_view::npos; pos = doc.find(marker, pos + 1))
        if (pos == 0 || doc[pos - 1] == '\n')
            ++n;
    return n;
}

// A secret home needs a gpg-agent: gpg starts one on first use, and it never exits
// by itself (each holds inotify instances; left running they pile up until systemd
// cannot start). Every process that opens a secret home holds a shared lock on its
// agent.lock while it runs; when it ends, the last one (the exclusive lock is free)
// stops the agent. A process that comes meanwhile waits for its shared lock, then
// gpg starts a fresh agent for it. (The stop is waited for: one left running after the
// tool ended raced with whatever came next, a copy of the home losing its sockets.)
class Agents {
public:
    static Agents& instance()
    {
        static Agents agents;
        return agents;
    }

    void use(const std::filesystem::path& home)
    {
        std::lock_guard g(m_);
        if (homes_.count(home.string()))
            return;
        int fd = ::open((home / "agent.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) // (another user's home, read-only: its owner's processes stop its agent)
            return;
        while (::flock(fd, LOCK_SH) != 0 && errno == EINTR) {
        }
        homes_[home.string()] = fd;
    }

    ~Agents()
    {
        for (auto& [home, fd] : homes_) {
            if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
                auto r = run({"gpgconf", "--homedir", home, "--kill", "gpg-agent"});
                log::debug("gpg", "stopped the gpg-agent of '{}' (exit {})", home, r.status);
            }
            ::close(fd);
        }
    }

private:
    Agents() = default;
    std::mutex m_;
    std::map<std::string, int> homes_;
};

} // namespace

struct Keyring::Impl {
    gpgme_ctx_t ctx = nullptr;
    bool default_home = false; // the home GPGME was set up with (no engine info of its own)
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
    auto sig_at = doc.find(sig);
    auto end_at = doc.find(end);
    if (end_at < sig_at)
        throw Error(Exit::bad_signature, "malformed signed message");
    // armor headers (RFC 4880 7: "Hash: ..." lines only) end at the first empty line,
    // which must come before the signature
    auto line_start = doc.find('\n');
    while (true) {
        if (line_start == std::string_view::npos || line_start + 1 >= sig_at)
            throw Error(Exit::bad_signature, "malformed signed message (no end of armor headers)");
        auto next = doc.find('\n', line_start + 1);
        auto line = doc.substr(line_start + 1, next - line_start - 1);
        if (line.empty())
            break;
        if (!line.starts_with("Hash: "))
            throw Error(Exit::bad_signature, "malformed signed message (unexpected armor header)");
        line_start = next;
    }
    if (doc.find('\0') != std::string_view::npos)
        throw Error(Exit::bad_signature, "NUL byte in signed message");
    if (!trim(doc.substr(end_at + end.size())).empty())
        throw Error(Exit::bad_signature, "unsigned text after the signature");
}

std::vector<SignatureInfo> signature_packets(std::string_view signature)
{
    std::string raw = !signature.empty() && (static_cast<unsigned char>(signature[0]) & 0x80)
                          ? std::string(signature)
                          : dearmor_signature(signature);
    std::string_view in = raw;
    std::vector<SignatureInfo> out;
    size_t i = 0;
    while (i < in.size()) { // packet headers, RFC 4880 4.2
        auto b = static_cast<unsigned char>(in[i]);
        if (!(b & 0x80))
            throw fail(Exit::bad_signature, "malformed signature packet");
        int tag = 0;
        size_t len = 0, hdr = 0;
        auto at = [&](size_t k) -> size_t {
            if (i + k >= in.size())
                throw fail(Exit::bad_signature, "truncated signature packet");
            return static_cast<unsigned char>(in[i + k]);
        };
        if (b & 0x40) { // new format
            tag = b & 0x3f;
            size_t l1 = at(1);
            if (l1 < 192) {
                len = l1, hdr = 2;
            } else if (l1 < 224) {
                len = ((l1 - 192) << 8) + at(2) + 192, hdr = 3;
            } else if (l1 == 255) {
                len = at(2) << 24 | at(3) << 16 | at(4) << 8 | at(5), hdr = 6;
            } else {
                throw fail(Exit::bad_signature, "partial-length signature packet");
            }
        } else { // old format
            tag = (b >> 2) & 0x0f;
            switch (b & 3) {
            case 0: len = at(1), hdr = 2; break;
            case 1: len = at(1) << 8 | at(2), hdr = 3; break;
            case 2: len = at(1) << 24 | at(2) << 16 | at(3) << 8 | at(4), hdr = 5; break;
            default: throw fail(Exit::bad_signature, "indeterminate-length signature packet");
            }
        }
        if (i + hdr + len > in.size())
            throw fail(Exit::bad_signature, "truncated signature packet");
        if (tag != 2)
            throw fail(Exit::bad_signature, "the signature holds an OpenPGP packet of type {}, not a signature", tag);
        out.push_back(read_signature(in.substr(i + hdr, len)));
        i += hdr + len;
    }
    if (out.empty())
        throw fail(Exit::bad_signature, "not signed (empty signature)");
    return out;
}

std::string_view hash_name(int algo)
{
    switch (algo) {
    case 1: return "MD5";
    case 2: return "SHA1";
    case 3: return "RIPEMD160";
    case 8: return "SHA256";
    case 9: return "SHA384";
    case 10: return "SHA512";
    case 11: return "SHA224";
    case 12: return "SHA3-256";
    case 14: return "SHA3-512";
    }
    return "unknown hash";
}

namespace {

void check_strong(const SignatureInfo& s)
{
    if (s.version != 4)
        throw fail(Exit::bad_signature, "OpenPGP v{} signature (only v4 is accepted)", s.version);
    if (s.hash_algo != 8 && s.hash_algo != 9 && s.hash_algo != 10 && s.hash_algo != 12 && s.hash_algo != 14)
        throw fail(Exit::bad_signature, "signature over the weak digest {} (SHA-256 or stronger is needed)",
                   hash_name(s.hash_algo));
}

// n signatures, each strong.
void require_strong_signatures(std::string_view signature, std::size_t n)
{
    auto sigs = signature_packets(signature);
    if (sigs.size() != n)
        throw fail(Exit::bad_signature, "{} signatures where {} expected", sigs.size(),
                   n == 1 ? "one is" : std::to_string(n) + " are");
    for (const auto& s : sigs)
        check_strong(s);
}

} // namespace

SignatureInfo require_strong_signature(std::string_view signature)
{
    require_strong_signatures(signature, 1);
    return signature_packets(signature).front();
}

Keyring::Keyring(std::filesystem::path dir, Kind kind) : dir_(std::move(dir)), kind_(kind), impl_(new Impl)
{
    bool default_home = init_gpgme(dir_) == dir_;
    make_dirs(dir_, 0700);
    ::chmod(dir_.c_str(), 0700);
    std::string conf(gpg_conf);
    if (kind_ == Kind::public_only)
        conf += "no-autostart\n";
    // Ours is written again when it differs (homes made before a public-only home had no-autostart);
    // a gpg.conf someone else wrote (no header line of ours) is theirs to keep.
    std::optional<std::string> current;
    try {
        current = read_file(dir_ / "gpg.conf");
    } catch (const Error&) {
    }
    if (!current || (*current != conf && current->starts_with("# written by mbd\n"))) {
        try {
            write_atomic(dir_ / "gpg.conf", conf, 0600);
        } catch (const Error& e) { // (another user's home: theirs to keep)
            log::debug("gpg", "{}", e.what());
        }
    }
    if (kind_ == Kind::secret)
        Agents::instance().use(dir_);
    impl_->default_home = default_home;
    impl_->ctx = new_context();
    log::debug("gpg", "keyring '{}'", dir_.string());
}

gpgme_ctx_t Keyring::new_context() const
{
    gpgme_ctx_t ctx = nullptr;
    if (auto err = gpgme_new(&ctx))
        throw_gpg(err, "cannot create a GPGME context");
    gpgme_set_protocol(ctx, GPGME_PROTOCOL_OpenPGP);
    if (!impl_->default_home)
        if (auto err = gpgme_ctx_set_engine_info(ctx, GPGME_PROTOCOL_OpenPGP, nullptr, dir_.c_str())) {
            gpgme_release(ctx);
            throw_gpg(err, fmt::format("cannot use GnuPG home '{}'", dir_.string()), Exit::environment);
        }
    gpgme_set_pinentry_mode(ctx, GPGME_PINENTRY_MODE_LOOPBACK);
    gpgme_set_keylist_mode(ctx, GPGME_KEYLIST_MODE_LOCAL | (kind_ == Kind::secret ? GPGME_KEYLIST_MODE_WITH_SECRET : 0));
    gpgme_set_offline(ctx, 1);
    return ctx;
}

Keyring::~Keyring() { delete impl_; }

Keyring::Keyring(Keyring&& other) noexcept : dir_(std::move(other.dir_)), kind_(other.kind_), impl_(other.impl_)
{
    other.impl_ = nullptr;
}

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
    std::string fpr = r->fpr; // (the look-up below is an operation of the context: r goes with it)
    auto info = find(fpr);
    if (!info)
        throw fail(Exit::failed, "the new key '{}' is not in the keyring", fpr);
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

std::vector<KeyInfo> Keyring::inspect_keys(std::string_view data) const
{
    std::vector<KeyInfo> out;
    Data in(data);
    if (auto err = gpgme_op_keylist_from_data_start(impl_->ctx, in.d, 0))
        throw_gpg(err, "cannot read key data", Exit::rejected);
    while (true) {
        gpgme_key_t key = nullptr;
        auto err = gpgme_op_keylist_next(impl_->ctx, &key);
        if (gpgme_err_code(err) == GPG_ERR_EOF)
            break;
        if (err) {
            gpgme_op_keylist_end(impl_->ctx);
            throw_gpg(err, "cannot read key data", Exit::rejected);
        }
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
    auto err = lookup_key(impl_->ctx, fpr, false, &key.k);
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
    auto info = info_of(key.k);
    // A key that can sign is kept for signing: a signature by it next needs no look-up of its
    // own (signing_key checks what it looks up the same way).
    if (info.secret && !key.k->expired && !key.k->revoked && !impl_->signers.count(fpr)) {
        gpgme_key_ref(key.k);
        impl_->signers.emplace(fpr, key.k);
    }
    return info;
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

std::string Keyring::export_secret_key(std::string_view fingerprint) const
{
    auto key = find(fingerprint);
    if (!key || !key->secret)
        throw fail(Exit::not_found, "no secret key {} in '{}'", fingerprint, dir_.string());
    Data out;
    gpgme_set_armor(impl_->ctx, 1);
    auto err = gpgme_op_export(impl_->ctx, key->fingerprint.c_str(), GPGME_EXPORT_MODE_SECRET, out.d);
    gpgme_set_armor(impl_->ctx, 0);
    if (err)
        throw_gpg(err, fmt::format("cannot export secret key {}", key->fingerprint));
    std::string data = out.take();
    if (data.find("-----BEGIN PGP PRIVATE KEY BLOCK-----") == std::string::npos)
        throw fail(Exit::failed, "exporting secret key {} gave no secret key", key->fingerprint);
    return data;
}

void Keyring::set_expiry(std::string_view fingerprint, long long expires_in_seconds)
{
    Key key;
    std::string fpr(fingerprint);
    if (!valid_fingerprint(fpr) || lookup_key(impl_->ctx, fpr, true, &key.k) || !key.k)
        throw fail(Exit::not_found, "no secret key {} in '{}'", fpr, dir_.string());
    if (auto err = gpgme_op_setexpire(impl_->ctx, key.k,
                                      static_cast<unsigned long>(std::max(expires_in_seconds, 0LL)), nullptr, 0))
        throw_gpg(err, fmt::format("cannot change the expiry of key {}", fpr));
}

void Keyring::remove_key(std::string_view fingerprint)
{
    Key key;
    std::string fpr(fingerprint);
    if (!valid_fingerprint(fpr) || lookup_key(impl_->ctx, fpr, false, &key.k) || !key.k)
        throw fail(Exit::not_found, "no key {} in '{}'", fpr, dir_.string());
    unsigned flags = GPGME_DELETE_FORCE | (kind_ == Kind::secret ? GPGME_DELETE_ALLOW_SECRET : 0);
    if (auto err = gpgme_op_delete_ext(impl_->ctx, key.k, flags))
        throw_gpg(err, fmt::format("cannot remove key {}", fpr));
}

namespace {

// The secret key of a signer, from the keyring's cache of them.
gpgme_key_t signing_key(gpgme_ctx_t ctx, std::map<std::string, gpgme_key_t>& signers, const std::string& fpr)
{
    auto cached = signers.find(fpr);
    if (cached == signers.end()) {
        Key key;
        if (!valid_fingerprint(fpr) || lookup_key(ctx, fpr, true, &key.k) || !key.k)
            throw fail(Exit::not_found, "no secret key {} to sign with", fpr);
        if (key.k->expired)
            throw fail(Exit::key_expired, "the signing key {} has expired", fpr);
        if (key.k->revoked)
            throw fail(Exit::key_revoked, "the signing key {} is revoked", fpr);
        cached = signers.emplace(fpr, key.k).first;
        key.k = nullptr; // owned by the cache now
    }
    return cached->second;
}

// One signature per signer (a clearsigned text carries them all).
std::string sign(gpgme_ctx_t ctx, std::map<std::string, gpgme_key_t>& signers, std::string_view text,
                 const std::vector<std::string>& fprs, gpgme_sig_mode_t mode)
{
    if (fprs.empty())
        throw fail(Exit::failed, "no key to sign with");
    std::string fpr = join(fprs, " ");
    gpgme_signers_clear(ctx);
    for (const auto& f : fprs)
        if (auto err = gpgme_signers_add(ctx, signing_key(ctx, signers, f)))
            throw_gpg(err, "cannot use the signing key");
    gpgme_set_armor(ctx, 1);
    Data in(text), out;
    auto err = gpgme_op_sign(ctx, in.d, out.d, mode);
    gpgme_set_armor(ctx, 0);
    gpgme_signers_clear(ctx);
    if (err)
        throw_gpg(err, fmt::format("cannot sign with key {}", fpr));
    gpgme_sign_result_t r = gpgme_op_sign_result(ctx);
    std::size_t made = 0;
    for (auto s = r ? r->signatures : nullptr; s; s = s->next)
        ++made;
    if (!r || made != fprs.size() || r->invalid_signers)
        throw fail(Exit::failed, "signing with key {} produced no signature", fpr);
    std::string signed_text = out.take();
    try {
        require_strong_signatures(signed_text, fprs.size());
    } catch (const Error& e) {
        throw fail(Exit::failed, "signing with key {} made an unacceptable signature: {}", fpr, e.what());
    }
    return signed_text;
}

struct SigCheck {
    std::string fingerprint;
    long long timestamp = 0;
};

SigCheck check_signature(gpgme_ctx_t ctx, gpgme_signature_t s, std::string_view signature, bool archive);

// The result of the last verify operation: one good v4 signature over a strong
// digest by a key that is neither expired nor revoked now. For archives (apt's
// rule), at least one such signature among several, those by keys this keyring
// does not have being ignored.
SigCheck check_signatures(gpgme_ctx_t ctx, std::string_view signature, bool archive = false)
{
    gpgme_verify_result_t r = gpgme_op_verify_result(ctx);
    if (!r || !r->signatures)
        throw fail(Exit::bad_signature, "not signed");
    if (!archive) {
        if (r->signatures->next)
            throw fail(Exit::bad_signature, "signed more than once");
        return check_signature(ctx, r->signatures, signature, false);
    }
    std::optional<Error> first;
    for (gpgme_signature_t s = r->signatures; s; s = s->next) {
        try {
            return check_signature(ctx, s, signature, true);
        } catch (const Error& e) {
            if (!first || (first->code() == Exit::bad_signature && gpgme_err_code(s->status) != GPG_ERR_NO_PUBKEY))
                first = e;
        }
    }
    throw *first;
}

// Every signature of the last verify operation good, each by a key of this keyring: their signers.
std::vector<std::string> check_every_signature(gpgme_ctx_t ctx, std::string_view signature)
{
    gpgme_verify_result_t r = gpgme_op_verify_result(ctx);
    if (!r || !r->signatures)
        throw fail(Exit::bad_signature, "not signed");
    std::vector<std::string> out;
    for (gpgme_signature_t s = r->signatures; s; s = s->next)
        out.push_back(check_signature(ctx, s, signature, true).fingerprint);
    return out;
}

SigCheck check_signature(gpgme_ctx_t ctx, gpgme_signature_t s, std::string_view signature, bool archive)
{
    std::string id = s->fpr ? s->fpr : "?";
    if (!valid_fingerprint(id)) { // GnuPG names a key it cannot check by its key id: name it as its issuer does
        try {
            auto issuer = signature_packets(signature).front().issuer_fingerprint;
            if (!issuer.empty())
                id = issuer;
        } catch (const Error&) {
        }
    }
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
    if (archive) {
        // several signatures in one document: judge this one by what GnuPG reports of it
        if (s->hash_algo == GPGME_MD_MD5 || s->hash_algo == GPGME_MD_SHA1 || s->hash_algo == GPGME_MD_RMD160)
            throw fail(Exit::bad_signature, "signature by {} uses a weak digest", key.k->fpr);
    } else {
        try {
            require_strong_signature(signature);
        } catch (const Error& e) {
            throw fail(e.code(), "signature by {}: {}", key.k->fpr, e.what());
        }
    }
    return {key.k->fpr, static_cast<long long>(s->timestamp)};
}

} // namespace

VerifiedAll Keyring::verify_clearsigned_all(std::string_view document) const
{
    check_clearsign_envelope(document);
    Data sig(document), plain;
    if (auto err = gpgme_op_verify(impl_->ctx, sig.d, nullptr, plain.d))
        throw_gpg(err, "cannot verify the signature", Exit::bad_signature);
    auto signers = check_every_signature(impl_->ctx, document);
    return {plain.take(), std::move(signers)};
}

std::vector<std::string> Keyring::verify_detached_all(std::string_view data, std::string_view signature) const
{
    Data sig(signature), text(data);
    if (auto err = gpgme_op_verify(impl_->ctx, sig.d, text.d, nullptr))
        throw_gpg(err, "cannot verify the signature", Exit::bad_signature);
    return check_every_signature(impl_->ctx, signature);
}

std::string Keyring::clearsign(std::string_view text, std::string_view signer) const
{
    return sign(impl_->ctx, impl_->signers, text, {std::string(signer)}, GPGME_SIG_MODE_CLEAR);
}

std::string Keyring::detach_sign(std::string_view data, std::string_view signer) const
{
    return sign(impl_->ctx, impl_->signers, data, {std::string(signer)}, GPGME_SIG_MODE_DETACH);
}

Keyring::ReleaseSignatures Keyring::sign_release(std::string_view release, const std::vector<std::string>& signers) const
{
    for (const auto& f : signers) // looked up (and cached) before the two contexts share the cache
        signing_key(impl_->ctx, impl_->signers, f);
    struct Context {
        gpgme_ctx_t ctx;
        ~Context() { gpgme_release(ctx); }
    } other{new_context()};
    ReleaseSignatures out;
    std::exception_ptr error;
    {
        std::jthread detached([&] {
            try {
                out.detached = sign(other.ctx, impl_->signers, release, signers, GPGME_SIG_MODE_DETACH);
            } catch (...) {
                error = std::current_exception();
            }
        });
        out.clearsigned = sign(impl_->ctx, impl_->signers, release, signers, GPGME_SIG_MODE_CLEAR);
    }
    if (error)
        std::rethrow_exception(error);
    return out;
}

Verified Keyring::verify_clearsigned(std::string_view document) const
{
    check_clearsign_envelope(document);
    Data sig(document), plain;
    if (auto err = gpgme_op_verify(impl_->ctx, sig.d, nullptr, plain.d))
        throw_gpg(err, "cannot verify the signature", Exit::bad_signature);
    auto check = check_signatures(impl_->ctx, document);
    log::debug("gpg", "good signature by {}", check.fingerprint);
    return {plain.take(), check.fingerprint, check.timestamp};
}

std::string Keyring::verify_detached(std::string_view data, std::string_view signature) const
{
    Data sig(signature), text(data);
    if (auto err = gpgme_op_verify(impl_->ctx, sig.d, text.d, nullptr))
        throw_gpg(err, "cannot verify the signature", Exit::bad_signature);
    return check_signatures(impl_->ctx, signature).fingerprint;
}

Verified Keyring::verify_archive_clearsigned(std::string_view document) const
{
    Data sig(document), plain;
    if (auto err = gpgme_op_verify(impl_->ctx, sig.d, nullptr, plain.d))
        throw_gpg(err, "cannot verify the signature", Exit::bad_signature);
    auto check = check_signatures(impl_->ctx, document, true);
    return {plain.take(), check.fingerprint, check.timestamp};
}

std::string Keyring::verify_archive_detached(std::string_view data, std::string_view signature) const
{
    Data sig(signature), text(data);
    if (auto err = gpgme_op_verify(impl_->ctx, sig.d, text.d, nullptr))
        throw_gpg(err, "cannot verify the signature", Exit::bad_signature);
    return check_signatures(impl_->ctx, signature, true).fingerprint;
}

} // namespace mbd::gpg
