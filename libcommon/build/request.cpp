#include "build/request.hpp"

#include "core/error.hpp"
#include "core/names.hpp"
#include "core/strings.hpp"
#include "debian/control_files.hpp"
#include "model/model.hpp"
#include "version/version.hpp"


namespace mbd::build {

std::string result_changes_name(const Request& r)
{
    return fmt::format("{}_{}_{}.mbd-result.changes", r.source, Version::parse(r.version).without_epoch(), r.architecture);
}

const SourceFile& Request::dsc() const
{
    for (const auto& f : files)
        if (f.name.ends_with(".dsc"))
            return f;
    throw fail(Exit::rejected, "build request {} lists no .dsc", id);
}

std::string Request::to_text() const
{
    deb822::Paragraph p;
    p.set("Mbd-Build-Id", id);
    p.set("Source", source);
    p.set("Version", version);
    p.set("Distribution", distribution);
    p.set("Codename", codename);
    p.set("Architecture", architecture);
    p.set("Arch-All", arch_all ? "yes" : "no");
    p.set("Arch-Any", arch_any ? "yes" : "no");
    p.set("Requester", requester);
    p.set("Lintian-Mode", lintian_mode);
    p.set("Autopkgtest-Mode", autopkgtest_mode);
    p.set("Resolver", resolver);
    if (!deb_build_options.empty())
        p.set("Deb-Build-Options", deb_build_options);
    if (!deb_build_profiles.empty())
        p.set("Deb-Build-Profiles", deb_build_profiles);
    if (!add_depends.empty())
        p.set("Add-Depends", add_depends);
    if (!apt_sources.empty()) {
        std::string v;
        for (const auto& s : apt_sources)
            v += "\n" + s;
        p.set("Apt-Sources", v);
    }
    if (!apt_keys.empty())
        p.set("Apt-Keys", "\n" + apt_keys);
    if (!apt_preferences.empty())
        p.set("Apt-Preferences", "\n" + apt_preferences);
    std::string sums;
    for (const auto& f : files)
        sums += fmt::format("\n{} {} {}", f.sha256, f.size, f.name);
    p.set("Checksums-Sha256", sums);
    return p.to_string();
}

Request Request::parse(const deb822::Paragraph& p)
{
    auto need = [&](std::string_view f) {
        auto v = p.find(f);
        if (!v || v->empty())
            throw fail(Exit::rejected, "build request: missing field '{}'", f);
        return *v;
    };
    // every name in it is checked before it can name a file, a chroot or a spool entry
    auto name = [&](std::string_view f, const names::Kind& kind) {
        auto v = need(f);
        if (auto why = names::problem(kind, v))
            throw fail(Exit::rejected, "build request: {}", *why);
        return v;
    };
    auto mode = [&](std::string v) {
        if (!repo::valid_check_mode(v))
            throw fail(Exit::rejected, "build request: invalid mode '{}' (disabled, ignore, errfail or warnfail)", v);
        return v;
    };
    Request r;
    r.id = name("Mbd-Build-Id", names::build_id);
    r.source = name("Source", names::package);
    r.version = need("Version");
    if (auto why = Version::invalid_reason(r.version))
        throw fail(Exit::rejected, "build request: invalid version '{}': {}", r.version, *why);
    r.distribution = name("Distribution", names::distribution);
    r.codename = name("Codename", names::codename);
    r.architecture = name("Architecture", names::architecture);
    r.arch_all = p.get("Arch-All") == "yes";
    r.arch_any = p.get("Arch-Any") != "no";
    r.requester = name("Requester", names::fingerprint);
    r.lintian_mode = mode(need("Lintian-Mode"));
    r.autopkgtest_mode = mode(p.has("Autopkgtest-Mode") ? p.get("Autopkgtest-Mode") : "disabled");
    r.deb_build_options = p.get("Deb-Build-Options");
    r.deb_build_profiles = p.get("Deb-Build-Profiles");
    r.add_depends = p.get("Add-Depends");
    if (p.has("Resolver"))
        r.resolver = p.get("Resolver");
    if (!repo::valid_resolver(r.resolver))
        throw fail(Exit::rejected, "build request: invalid resolver '{}'", r.resolver);
    for (const auto& l : p.lines("Apt-Sources"))
        if (!trim(l).empty())
            r.apt_sources.emplace_back(trim(l));
    for (const auto& l : p.lines("Apt-Keys"))
        r.apt_keys += l + "\n";
    for (const auto& l : p.lines("Apt-Preferences"))
        r.apt_preferences += l + "\n";
    for (const auto& l : p.lines("Checksums-Sha256")) {
        auto w = split_ws(l);
        if (w.empty())
            continue;
        auto size = w.size() == 3 ? parse_uint(w[1]) : std::nullopt;
        if (!size || w[0].size() != 64)
            throw fail(Exit::rejected, "build request: malformed line in Checksums-Sha256: '{}'", l);
        std::string file(w[2]);
        if (auto why = names::problem(names::file, file))
            throw fail(Exit::rejected, "build request: {}", *why);
        r.files.push_back(SourceFile{file, *size, std::string(w[0])});
    }
    r.dsc(); // must list one
    return r;
}

} // namespace mbd::build
