#include "repo/chroot_source.hpp"

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/strings.hpp"
#include "gpg/gpg.hpp"
#include "model/model.hpp"

#include <algorithm>

namespace mbd::repo {

std::filesystem::path chroot_keyring_path(const Home& home, std::string_view source)
{
    return home.var() / "chroot-keyrings" / fmt::format("{}.gpg", source);
}

std::optional<chroot::Source> chroot_source(Context& ctx, std::string_view codename)
{
    auto& db = ctx.db();
    auto distributions = list_distributions(db);
    auto d = std::find_if(distributions.begin(), distributions.end(),
                          [&](const Distribution& x) { return x.codename == codename; });
    if (d == distributions.end())
        return std::nullopt;
    Source s = get_source(db, d->base_source);

    chroot::Source out;
    out.base_source = s.name;
    out.uris = s.uris;
    out.suite = s.suite;
    std::vector<std::string> components;
    for (const auto& c : d->components)
        if (s.components.empty() || std::find(s.components.begin(), s.components.end(), c) != s.components.end())
            components.push_back(c);
    if (components.empty())
        throw fail(Exit::state, "source '{}' carries none of the components of distribution '{}' ({})", s.name,
                   d->codename, join(d->components, " "));
    out.components = join(components, " ");

    // Its keys as a binary keyring, in fingerprint order (the same keys: the same file).
    gpg::Keyring ring(source_keyring_dir(ctx.home(), s.name), gpg::Keyring::Kind::public_only);
    std::vector<std::string> fingerprints;
    for (const auto& k : ring.list())
        fingerprints.push_back(k.fingerprint);
    std::sort(fingerprints.begin(), fingerprints.end());
    if (fingerprints.empty())
        throw fail(Exit::state, "source '{}' has no keys to verify its Release with", s.name);
    std::string keyring;
    for (const auto& f : fingerprints)
        keyring += ring.export_key(f, false);
    out.keys = join(fingerprints, " ");
    out.keyring = chroot_keyring_path(ctx.home(), s.name);
    std::string current;
    try {
        current = read_file(out.keyring);
    } catch (const Error&) {
    }
    if (current != keyring) {
        make_dirs(out.keyring.parent_path(), 0755);
        write_atomic(out.keyring, keyring, 0644); // (mmdebstrap's unshared user reads it)
        log::debug("chroot", "wrote the keys of source '{}' to '{}'", s.name, out.keyring.string());
    }
    return out;
}

chroot::SourceOf chroot_sources(Context& ctx)
{
    return [&ctx](const std::string& codename) { return chroot_source(ctx, codename); };
}

} // namespace mbd::repo
