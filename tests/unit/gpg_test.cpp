// The GPGME layer against real GnuPG: sign, verify, and the ways verification fails.
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "gpg/gpg.hpp"

#include <gtest/gtest.h>

using namespace mbd;

namespace {

Exit code_of(const std::function<void()>& f)
{
    try {
        f();
    } catch (const Error& e) {
        return e.code();
    }
    return Exit::ok;
}

struct Keys {
    TempDir dir;
    gpg::Keyring signer{dir.path() / "signer"};
    gpg::Keyring trusted{dir.path() / "trusted"};
    gpg::KeyInfo key;
    Keys()
    {
        key = signer.generate("Test Signer <signer@example.org>", gpg::Algo::ed25519, 0);
        trusted.import_keys(signer.export_key(key.fingerprint, true));
    }
    ~Keys() { run({"gpgconf", "--homedir", (dir.path() / "signer").string(), "--kill", "all"}); }
};

} // namespace

TEST(Gpg, ClearsignVerifiesAndReturnsOnlySignedContent)
{
    Keys k;
    EXPECT_TRUE(gpg::valid_fingerprint(k.key.fingerprint));
    EXPECT_EQ(k.key.algorithm, "ed25519");
    EXPECT_EQ(k.key.expires, 0);
    EXPECT_TRUE(k.key.secret);
    std::string text = "Origin: test\n-----dashes at line start\nLabel: x\n";
    std::string doc = k.signer.clearsign(text, k.key.fingerprint);
    EXPECT_NE(doc.find("Hash: SHA512"), std::string::npos);
    auto v = k.trusted.verify_clearsigned(doc);
    EXPECT_EQ(v.fingerprint, k.key.fingerprint);
    EXPECT_EQ(v.content, text);

    // gpgv, the reference, agrees
    auto keyfile = k.dir.path() / "key.gpg";
    write_atomic(keyfile, k.signer.export_key(k.key.fingerprint, false));
    auto docfile = k.dir.path() / "doc.asc";
    write_atomic(docfile, doc);
    EXPECT_EQ(run({"gpgv", "--keyring", keyfile.string(), docfile.string()}).status, 0);

    // tampered, text appended or prepended, unknown key
    std::string tampered = doc;
    tampered.replace(tampered.find("Label: x"), 8, "Label: y");
    EXPECT_EQ(code_of([&] { k.trusted.verify_clearsigned(tampered); }), Exit::bad_signature);
    EXPECT_EQ(code_of([&] { k.trusted.verify_clearsigned(doc + "Extra: unsigned\n"); }), Exit::bad_signature);
    EXPECT_EQ(code_of([&] { k.trusted.verify_clearsigned("Extra: 1\n" + doc); }), Exit::bad_signature);
    EXPECT_EQ(code_of([&] { k.trusted.verify_clearsigned(doc + doc); }), Exit::bad_signature);
    EXPECT_EQ(code_of([&] { k.trusted.verify_clearsigned(text); }), Exit::bad_signature);
    gpg::Keyring empty(k.dir.path() / "empty");
    EXPECT_EQ(code_of([&] { empty.verify_clearsigned(doc); }), Exit::bad_signature);
}

TEST(Gpg, DetachedSignatureAndExport)
{
    Keys k;
    std::string data = "some Release file\n";
    std::string sig = k.signer.detach_sign(data, k.key.fingerprint);
    EXPECT_NE(sig.find("-----BEGIN PGP SIGNATURE-----"), std::string::npos);
    EXPECT_EQ(k.trusted.verify_detached(data, sig), k.key.fingerprint);
    EXPECT_EQ(code_of([&] { k.trusted.verify_detached(data + "x", sig); }), Exit::bad_signature);
    EXPECT_EQ(code_of([&] { k.trusted.export_key("0000000000000000000000000000000000000000", true); }),
              Exit::not_found);
    EXPECT_FALSE(k.trusted.find("Test Signer")); // never a user-id pattern match
    EXPECT_EQ(code_of([&] { k.trusted.import_keys(k.signer.export_key(k.key.fingerprint, true) + "garbage"); }),
              Exit::ok);
    EXPECT_EQ(code_of([&] { k.trusted.import_keys("not a key"); }), Exit::rejected);
}

TEST(Gpg, SignaturePacketsOfOurSignaturesAreV4OverSha512WithIssuer)
{
    Keys k;
    for (const auto& sig : {k.signer.clearsign("a\n", k.key.fingerprint), k.signer.detach_sign("a\n", k.key.fingerprint)}) {
        auto s = gpg::require_strong_signature(sig);
        EXPECT_EQ(s.version, 4);
        EXPECT_EQ(gpg::hash_name(s.hash_algo), "SHA512");
        EXPECT_EQ(s.pubkey_algo, 22); // EdDSA
        EXPECT_EQ(s.issuer_fingerprint, k.key.fingerprint);
        EXPECT_EQ(s.issuer_key_id, k.key.fingerprint.substr(24));
    }
}

TEST(Gpg, WeakDigestsAndV3SignaturesAreRefused)
{
    Keys k;
    // GnuPG still makes SHA-1 signatures when asked; we never accept them
    auto text = k.dir.path() / "text";
    write_atomic(text, "Origin: test\n");
    auto r = run({"gpg", "--homedir", (k.dir.path() / "signer").string(), "--batch", "--digest-algo", "SHA1",
                  "--local-user", k.key.fingerprint, "--clearsign", "--output", "-", text.string()});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(gpg::signature_packets(r.out).front().hash_algo, 2);
    try {
        k.trusted.verify_clearsigned(r.out);
        ADD_FAILURE() << "a SHA-1 signature verified";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Exit::bad_signature);
        EXPECT_NE(std::string(e.what()).find("weak digest SHA1"), std::string::npos) << e.what();
    }

    // a v3 signature packet (RFC 4880 5.2.2), old packet format, over SHA-256
    std::string v3 = {'\x88', '\x19', 3, 5, 0, 1, 2, 3, 4, 1, 2, 3, 4, 5, 6, 7, 8, 1, 8, 0, 0, 0, 8, '\x7f'};
    v3.resize(2 + 0x19, '\0');
    auto s = gpg::signature_packets(v3);
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].version, 3);
    EXPECT_EQ(s[0].issuer_key_id, "0102030405060708");
    EXPECT_EQ(code_of([&] { gpg::require_strong_signature(v3); }), Exit::bad_signature);
    // not a signature, truncated, two signatures
    EXPECT_EQ(code_of([&] { gpg::signature_packets(k.signer.export_key(k.key.fingerprint, false)); }),
              Exit::bad_signature);
    EXPECT_EQ(code_of([&] { gpg::signature_packets(v3.substr(0, 10)); }), Exit::bad_signature);
    EXPECT_EQ(code_of([&] { gpg::require_strong_signature(v3 + v3); }), Exit::bad_signature);
    EXPECT_EQ(code_of([&] { gpg::signature_packets("no signature here\n"); }), Exit::bad_signature);
}

TEST(Gpg, InspectExpirySecretExportAndPublicOnlyKeyrings)
{
    Keys k;
    auto pub = k.signer.export_key(k.key.fingerprint, true);
    auto seen = k.trusted.inspect_keys(pub);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].fingerprint, k.key.fingerprint);
    EXPECT_TRUE(k.trusted.inspect_keys("not a key").empty());

    k.signer.set_expiry(k.key.fingerprint, 86400);
    auto expires = k.signer.find(k.key.fingerprint)->expires;
    EXPECT_NEAR(double(expires), double(now_seconds() + 86400), 60.0);
    // (GnuPG waits for the next second to supersede a self-signature: one change only)

    auto secret = k.signer.export_secret_key(k.key.fingerprint);
    EXPECT_NE(secret.find("-----BEGIN PGP PRIVATE KEY BLOCK-----"), std::string::npos);
    EXPECT_EQ(code_of([&] { k.trusted.export_secret_key(k.key.fingerprint); }), Exit::not_found);

    gpg::Keyring set(k.dir.path() / "set", gpg::Keyring::Kind::public_only);
    set.import_keys(pub);
    EXPECT_EQ(set.verify_clearsigned(k.signer.clearsign("x\n", k.key.fingerprint)).fingerprint, k.key.fingerprint);
    set.remove_key(k.key.fingerprint);
    EXPECT_FALSE(set.find(k.key.fingerprint));
    EXPECT_FALSE(std::filesystem::exists(k.dir.path() / "set" / "S.gpg-agent")); // no agent started for it
}
