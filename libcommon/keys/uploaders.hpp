// keys/uploaders: uploader keys and the repositories each may upload to.
//
// Key material is in the trust set "uploaders" ($MBD_HOME/gnupg/uploaders);
// the access list is in the state database (tables uploaders and
// uploader_repositories, schema domain keys). Keys are named by their full
// fingerprint. A key is valid for the repositories granted to it and no other;
// keys/verify.hpp checks uploads against this list.
#pragma once

#include "core/json.hpp"
#include "db/context.hpp"
#include "keys/trust_set.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace mbd::db {
class Db;
}

namespace mbd::keys {

struct Uploader {
    SetKey key;
    long long added = 0;                   // unix seconds
    std::vector<std::string> repositories; // sorted
};

// Does a repository exist? The repository model answers it (model/model.hpp's
// repository_exists; the tool wires it): keys reads no other domain's tables.
using RepositoryExists = std::function<bool(std::string_view id)>;

// Import one public key (armored or binary; Error(Exit::rejected) for anything
// else) and grant it the repositories (each must exist: Error(Exit::not_found)).
// Adding a known key again refreshes its key material (a new expiry, a
// revocation) and adds the grants. An expired or revoked key is recorded with a
// notice: its signatures are refused.
Uploader add_uploader(Context& ctx, std::string_view key_data, const std::vector<std::string>& repositories,
                      const RepositoryExists& exists);
std::vector<Uploader> list_uploaders(Context& ctx);
// Error(Exit::not_found) for an unknown fingerprint; revoking a repository
// that is not granted is Error(Exit::not_found) too, and changes nothing.
Uploader grant_uploader(Context& ctx, std::string_view fingerprint, const std::vector<std::string>& repositories,
                        const RepositoryExists& exists);
Uploader revoke_uploader(Context& ctx, std::string_view fingerprint, const std::vector<std::string>& repositories);
// Forget the uploader: its grants and its key.
void remove_uploader(Context& ctx, std::string_view fingerprint);

// `uploader list`: one line per uploader, "FINGERPRINT STATE REPOSITORIES USER-ID"
// (repositories comma-separated, "-" for none); JSON: an array of
// {fingerprint, user_id, algorithm, created, expires, state, added, repositories}
// (keys/trust_set.hpp's key_json, then added and repositories).
std::string describe(const std::vector<Uploader>& uploaders);
Json to_json(const std::vector<Uploader>& uploaders);

} // namespace mbd::keys
