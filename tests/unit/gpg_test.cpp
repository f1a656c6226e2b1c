// The GPGME layer against real GnuPG: sign, verify, and the ways verification fails.
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/process.hpp"
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
