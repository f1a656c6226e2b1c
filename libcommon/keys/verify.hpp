// keys/verify: the signature checks of the pipeline (mbd-incoming, mbd-build,
// mbd-remote). Each verifies a clearsigned document (a .changes, a build
// request or result) against exactly one trust set and returns only the
// signed content and the signer's primary-key fingerprint; callers use
// nothing outside the signature.
//
// Failures are mbd::Error with these exit codes (core/error.hpp):
//   bad_signature  not clearsigned; changed after signing; unsigned text
//                  before or after the signed message; more than one message
//                  or signature; not an OpenPGP v4 signature over SHA-256 or
//                  stronger; signed by a key unknown to the trust set
//   key_expired    the signer's key has expired (checked now, not at signing)
//   key_revoked    the signer's key is revoked
//   not_allowed    the signer is known, but not granted that repository, or
//                  the peer's key is not active
// Signature checks come first, so an expired key not granted the repository
// reports key_expired.
#pragma once

#include "db/context.hpp"
#include "gpg/gpg.hpp"

#include <string_view>

namespace mbd::keys {

// An upload's .changes: signed by an uploader (keys/uploaders.hpp) granted
// repository. An invalid repository id is Error(Exit::usage).
gpg::Verified verify_upload(Context& ctx, std::string_view document, std::string_view repository);

// A build request or result: signed by this instance's key
// (keys/instance.hpp; whatever its status, as long as it is in the key ring
// and neither expired nor revoked) or by an active peer's key
// (keys/peers.hpp). The signature's issuer picks the key ring.
gpg::Verified verify_from_instance_or_remote(Context& ctx, std::string_view document);

} // namespace mbd::keys
