#include "app/setup.hpp"

#include "chroot/chroot.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "keys/instance.hpp"
#include "keys/uploaders.hpp"
#include "model/model.hpp"
#include "repo/apt.hpp"
#include "repo/chroot_source.hpp"

#include <algorithm>

namespace mbd::app {
namespace {

// The values of the options, checked before anything changes.
void check_options(const SetupOptions& o)
{
    for (const auto& file : o.uploaders)
        if (!fs::is_regular_file(file))
            throw fail(Exit::not_found, "no uploader key file '{}'", file.string());
    if (!o.email.empty())
        if (auto why = email_problem(o.email))
            throw fail(Exit::usage, "--email: {}", *why);
    if (!o.url.empty())
        if (auto why = url_problem(o.url))
            throw fail(Exit::usage, "--url: {}", *why);
}

// Step 1: the identity and the e-mail go into the configuration file, unless the instance
// key was made for others (its user id says who signs; a new key is mbd-keygen init --force);
// so does the URL the repositories are served under.
void store_settings(Context& ctx, const SetupOptions& o)
{
    if (o.identity.empty() && o.email.empty() && o.url.empty())
        return;
    if (!o.identity.empty() || !o.email.empty()) {
        auto key = keys::find_instance_key(ctx);
        std::string identity = o.identity.empty() ? ctx.config().get("identity") : o.identity;
        std::string email = o.email.empty() ? ctx.config().get("email") : o.email;
        std::string uid = keys::instance_user_id(identity, email);
        if (key && key->info.user_id != uid)
            throw fail(Exit::exists,
                       "the instance key was made for '{}', not '{}': identity and e-mail are set before the key "
                       "(mbd-keygen init --force makes a new key)",
                       key->info.user_id, uid);
    }
    fs::create_directories(ctx.home().etc());
    fs::path file = ctx.home().etc() / "mbd.conf";
    for (const auto& [k, v] : {std::pair<std::string, std::string>{"identity", o.identity},
                               {"email", o.email},
                               {"publish.url", o.url}})
        if (!v.empty()) {
            store_config(file, k, v);
            ctx.config().set(k, v, Origin::file, file.string());
            log::notice("{} = {} (in {})", k, v, file.string());
        }
}

// Step 2.
void ensure_key(Context& ctx)
{
    if (auto key = keys::find_instance_key(ctx)) {
        log::notice("instance key {} ({}): kept", key->info.fingerprint, key->info.user_id);
        return;
    }
    if (auto why = email_problem(ctx.config().get("email")))
        throw fail(Exit::config, "the instance key needs an e-mail address: {} (--email, or 'email' in {})", *why,
                   (ctx.home().etc() / "mbd.conf").string());
    log::notice("making the instance key for '{}' (RSA 4096; this takes a moment)",
                keys::instance_user_id(ctx.config().get("identity"), ctx.config().get("email")));
    auto key = keys::init_instance_key(ctx, gpg::Algo::rsa4096, 0, false);
    log::notice("instance key {}: active", key.info.fingerprint);
}

// Step 4: every architecture of a distribution, each step only when it is not done;
// from the distribution's base source.
void ensure_chroots(Context& ctx, const repo::Distribution& d)
{
    auto sources = repo::chroot_sources(ctx);
    auto existing = chroot::list(ctx);
    for (const auto& arch : d.architectures) {
        auto it = std::find_if(existing.begin(), existing.end(), [&](const chroot::Chroot& c) {
            return c.codename == d.codename && c.arch == arch;
        });
        std::string name = d.codename + "/" + arch;
        if (it != existing.end() && it->status.status == Status::active) {
            log::notice("chroot {}: active, kept", name);
            continue;
        }
        if (it == existing.end() || it->status.status == Status::removed) {
            log::notice("chroot {}: creating it with mmdebstrap (a few minutes)", name);
            chroot::create(ctx, d.codename, arch, {}, sources);
        }
        log::notice("chroot {}: checking it", name);
        chroot::check(ctx, d.codename, arch, sources);
        chroot::activate(ctx, d.codename, arch);
        log::notice("chroot {}: active", name);
    }
}

} // namespace

SetupResult setup(Context& ctx, const SetupOptions& o)
{
    check_options(o); // (everything that can be refused without a change is checked first)
    store_settings(ctx, o);
    ensure_key(ctx);
    SetupResult result;
    result.repository = repo::setup(ctx, o.repository);
    if (o.chroots)
        for (const auto& d : result.repository.distributions)
            ensure_chroots(ctx, d);
    auto exists = [&ctx](std::string_view id) { return repo::repository_exists(ctx.db(), id); };
    for (const auto& file : o.uploaders) {
        auto u = keys::add_uploader(ctx, read_file(file), {o.repository.id}, exists);
        log::notice("uploader {} ({}): may upload to '{}'", u.key.info.fingerprint, u.key.info.user_id, o.repository.id);
        result.uploaders.push_back(u.key.info.fingerprint);
    }
    return result;
}

std::string next_steps(Context& ctx, const SetupResult& r)
{
    const auto& repository = r.repository.repository;
    auto layout = repo::get_layout(ctx.db(), repository.layout);
    // the suite to upload to: an uploadable one with the longest way to migrate (unstable)
    auto way = [&layout](const repo::Suite& s) {
        size_t n = 0;
        for (auto* x = &s; x && x->migrates_to && n <= layout.suites.size(); ++n)
            x = layout.suite(*x->migrates_to);
        return s.uploadable && !s.experimental ? n + 1 : 0;
    };
    auto upload = std::max_element(layout.suites.begin(), layout.suites.end(),
                                   [&](const repo::Suite& a, const repo::Suite& b) { return way(a) < way(b); });
    std::string suite = upload->name;
    std::string dist = repo::dist_name(r.repository.distributions.front().codename, repository.id, suite, 0);
    repo::SourcesListOptions apt;
    apt.suites = {suite};
    apt.sources = false;
    std::string identity = ctx.config().get("identity");
    std::string out = fmt::format("Repository '{}' is ready: upload to {} (the Distribution of your .changes).\n\n",
                                  repository.id, dist);
    if (!r.repository.skipped.empty()) {
        out += "Sources not added (the mirror does not serve them, or they failed their check):\n";
        for (const auto& why : r.repository.skipped)
            out += "  " + why + "\n";
        out += "\n";
    }
    out += fmt::format("Uploaders: {}\n\n", r.uploaders.empty()
                                                 ? "none yet (mbd-keygen uploader add KEYFILE --repo " + repository.id + ")"
                                                 : fmt::format("{} key(s) granted '{}'", r.uploaders.size(), repository.id));
    out += "dput configuration (add it to ~/.dput.cf; mbd-repo dput-conf prints it):\n\n";
    out += repo::dput_conf(ctx, {});
    out += fmt::format("\nUpload with: dput mbd-{} PACKAGE_VERSION_source.changes\n"
                       "Follow it:   mbd-incoming events; mbd-build list; mbd-repo ls {}\n\n",
                       identity, repository.id);
    out += fmt::format("apt sources of {} (here: mbd-repo sources-list {} --suite {} --install):\n\n", dist,
                       repository.id, suite);
    out += repo::sources_list(ctx, repository.id, apt);
    return out;
}

} // namespace mbd::app
