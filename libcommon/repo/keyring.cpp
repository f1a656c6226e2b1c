#include "repo/keyring.hpp"

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "db/db.hpp"
#include "keys/instance.hpp"
#include "model/model.hpp"
#include "repo/apt.hpp"
#include "repo/port.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <optional>

namespace mbd::repo {
namespace {

namespace fs = std::filesystem;

// debian/rules without debhelper: the build needs nothing the chroot lacks.
constexpr std::string_view rules = R"(#!/usr/bin/make -f
P := $(shell dpkg-parsechangelog -S Source)
D := debian/$(P)

build build-arch build-indep:
binary-arch:
binary binary-indep:
	rm -rf $(D)
	install -d $(D)/DEBIAN $(D)/usr/share/keyrings $(D)/usr/share/doc/$(P)/examples
	install -m 644 keyring.gpg $(D)/usr/share/keyrings/$(P).gpg
	install -m 644 sources/*.sources $(D)/usr/share/doc/$(P)/examples/
	install -m 644 debian/copyright $(D)/usr/share/doc/$(P)/
	gzip -9n -c debian/changelog >$(D)/usr/share/doc/$(P)/changelog.gz
	dpkg-gencontrol -p$(P) -P$(D)
	dpkg-deb --root-owner-group --build $(D) ..
clean:
	rm -rf $(D) debian/files
.PHONY: build build-arch build-indep binary binary-arch binary-indep clean
)";

struct Held {
    std::string version;
    bool current_key = false; // its description names every key archives are signed with
};

std::optional<Held> held(db::Db& db, const DistRef& d, const std::string& package,
                         const std::vector<std::string>& fingerprints)
{
    auto r = db.query("SELECT sp.version, (SELECT group_concat(b.stanza) FROM binary_packages b WHERE b.source_id = "
                      "sp.id) FROM dist_sources ds JOIN source_packages sp ON sp.id = ds.source_id "
                      "WHERE ds.dist_id = ? AND ds.name = ?",
                      d.id, package);
    if (!r.step())
        return std::nullopt;
    std::string stanzas = r.text(1);
    return Held{r.text(0), std::all_of(fingerprints.begin(), fingerprints.end(), [&](const std::string& f) {
                    return stanzas.find(f) != std::string::npos;
                })};
}

// The next serial: one more than any version of the package the repository has had.
long long next_serial(db::Db& db, std::string_view repository, const std::string& package)
{
    long long serial = 0;
    auto r = db.query("SELECT version FROM source_packages WHERE repository = ? AND name = ?", repository, package);
    while (r.step()) {
        std::string v = r.text(0);
        auto end = v.find_first_not_of("0123456789");
        if (end != 0)
            serial = std::max(serial, std::stoll(v.substr(0, end)));
    }
    return serial + 1;
}

// The source tree of one keyring package, under work/src.
fs::path write_tree(Context& ctx, const fs::path& work, const Repository& repo, const DistRef& d,
                    const std::string& package, const std::string& version,
                    const std::vector<std::string>& fingerprints)
{
    auto& db = ctx.db();
    fs::path tree = work / "src";
    make_dirs(tree / "debian/source");
    make_dirs(tree / "sources");
    std::string maintainer = fmt::format("{} <{}>", ctx.config().get("identity"), ctx.config().get("email"));
    std::string keyring = "/usr/share/keyrings/" + package + ".gpg";
    std::string keys;
    auto ring = keys::instance_keyring(ctx.home());
    for (const auto& f : fingerprints)
        keys += ring.export_key(f, false);
    write_atomic(tree / "keyring.gpg", keys, 0644, Durable::no);
    std::string listed; // (the description's lines)
    for (const auto& f : fingerprints)
        listed += "  " + f + "\n";
    for (const auto& s : get_layout(db, repo.layout).suites) {
        SourcesListOptions o;
        o.codenames = {d.codename};
        o.suites = {s.name};
        o.signed_by = keyring;
        write_atomic(tree / "sources" / (dist_name(d.codename, repo.id, s.name, 0) + ".sources"),
                     sources_list(ctx, repo.id, o), 0644, Durable::no);
    }
    write_atomic(tree / "debian/source/format", "3.0 (native)\n", 0644, Durable::no);
    write_atomic(tree / "debian/rules", rules, 0755, Durable::no);
    write_atomic(tree / "debian/control",
                 fmt::format("Source: {0}\nSection: misc\nPriority: optional\nMaintainer: {1}\n"
                             "Standards-Version: 4.6.2\nRules-Requires-Root: no\n\n"
                             "Package: {0}\nArchitecture: all\nMulti-Arch: foreign\nDepends: ${{misc:Depends}}\n"
                             "Description: OpenPGP keys of the mbd repository '{2}'\n"
                             " The keys that sign the Release files of the mbd repository '{2}'\n"
                             " of {4} (two during a key rotation),\n .\n{3} .\n"
                             " installed as {5},\n"
                             " and the apt sources of the repository's suites for {6}\n"
                             " (deb822, not enabled) in /usr/share/doc/{0}/examples/.\n",
                             package, maintainer, repo.id, listed, ctx.config().get("identity"), keyring,
                             d.codename),
                 0644, Durable::no);
    write_atomic(tree / "debian/copyright",
                 fmt::format("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
                             "Upstream-Name: {}\n\nFiles: *\nCopyright: {}\nLicense: public-domain\n"
                             " An archive's public key and apt sources, made by mbd.\n",
                             package, maintainer),
                 0644, Durable::no);
    write_atomic(tree / "debian/changelog",
                 fmt::format("{} ({}) {}; urgency=medium\n\n  * The keys of repository '{}': {}.\n\n -- {}  {}\n",
                             package, version, d.name, repo.id, join(fingerprints, ", "), maintainer,
                             rfc2822_time(now_seconds())),
                 0644, Durable::no);
    return tree;
}

// The distributions of a repository its keyring package goes to.
std::vector<DistRef> keyring_dists(db::Db& db, const Repository& repo)
{
    std::vector<DistRef> out;
    for (const auto& s : get_layout(db, repo.layout).suites)
        if (s.build_keyring)
            for (const auto& rd : repo.dists)
                out.push_back(find_suite_dist(db, repo.id, rd.codename, s.name));
    return out;
}

std::vector<KeyringUpload> upload(Context& ctx, const std::vector<Repository>& repos,
                                  const std::function<bool(const std::optional<Held>&)>& wanted)
{
    auto& db = ctx.db();
    auto fingerprints = keys::archive_signers(ctx);
    std::vector<KeyringUpload> out;
    for (const auto& repo : repos) {
        if (repo.status.status == Status::removed)
            continue;
        std::string package = keyring_package(repo.id);
        for (const auto& d : keyring_dists(db, repo)) {
            auto h = held(db, d, package, fingerprints);
            if (!wanted(h)) {
                if (h)
                    out.push_back({d.name, h->version, {}});
                continue;
            }
            require_program("dpkg-buildpackage", "dpkg-dev");
            std::string version = port_version(ctx, std::to_string(next_serial(db, repo.id, package)), d.name, d.name);
            make_dirs(ctx.home().tmp());
            TempDir work(ctx.home().tmp(), "keyring");
            fs::path tree = write_tree(ctx, work.path(), repo, d, package, version, fingerprints);
            auto changes = upload_source_tree(ctx, work.path(), tree, package, version);
            log::info("{}: {} {} uploaded", d.name, package, version);
            out.push_back({d.name, version, changes});
        }
    }
    return out;
}

} // namespace

std::string keyring_package(std::string_view repository) { return std::string(repository) + "-archive-keyring"; }

std::vector<KeyringUpload> upload_keyrings(Context& ctx, std::string_view repository, bool force)
{
    auto& db = ctx.db();
    std::vector<Repository> repos;
    if (repository.empty()) {
        repos = list_repositories(db);
    } else {
        repos.push_back(get_repository(db, repository));
        if (keyring_dists(db, repos.front()).empty())
            throw fail(Exit::state, "no suite of layout '{}' builds the keyring package (mbd-repo layout suite "
                       "--build-keyring)", repos.front().layout);
    }
    return upload(ctx, repos, [force](const std::optional<Held>& h) { return force || !h || !h->current_key; });
}

std::vector<KeyringUpload> refresh_keyrings(Context& ctx)
{
    if (!keys::instance_key_record(ctx.db()))
        return {};
    return upload(ctx, list_repositories(ctx.db()), [](const std::optional<Held>& h) { return h && !h->current_key; });
}

} // namespace mbd::repo
