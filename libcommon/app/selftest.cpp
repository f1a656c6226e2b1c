#include "app/selftest.hpp"

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "db/db.hpp"
#include "events/events.hpp"
#include "keys/instance.hpp"
#include "model/model.hpp"
#include "repo/apt.hpp"
#include "repo/packages.hpp"
#include "repo/port.hpp"
#include "upload/process.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <thread>

namespace mbd::app {

using namespace repo; // (the model's types)

namespace {

namespace fs = std::filesystem;

struct Kind {
    std::string_view source, architecture, build, install;
    bool fails;
};

// (all three built by dpkg alone: no build dependency beyond build-essential)
constexpr Kind kinds[] = {
    {"mbd-selftest-all", "all", "true", "printf 'mbd selftest\\n' >$(D)/usr/share/doc/$(P)/README", false},
    {"mbd-selftest-any", "any", "cc -O2 -o selftest selftest.c",
     "install -s -m 755 selftest $(D)/usr/bin/mbd-selftest\n\tdpkg-shlibdeps -Tdebian/substvars $(D)/usr/bin/mbd-selftest",
     false},
    {"mbd-selftest-fail", "all", "echo 'mbd selftest: this build fails on purpose' >&2; exit 1", "true", true},
};

std::string rules(const Kind& k)
{
    bool any = k.architecture == "any";
    return fmt::format(R"(#!/usr/bin/make -f
P := $(shell dpkg-parsechangelog -S Source)
D := debian/$(P)

build build-arch build-indep:
	{0}
binary-{1}: build
	rm -rf $(D)
	install -d $(D)/DEBIAN $(D)/usr/bin $(D)/usr/share/doc/$(P)
	{2}
	install -m 644 debian/copyright $(D)/usr/share/doc/$(P)/
	gzip -9n -c debian/changelog >$(D)/usr/share/doc/$(P)/changelog.gz
	dpkg-gencontrol -p$(P) -P$(D)
	dpkg-deb --root-owner-group --build $(D) ..
binary-{3}:
binary: binary-arch binary-indep
clean:
	rm -rf $(D) debian/files debian/substvars selftest
.PHONY: build build-arch build-indep binary binary-arch binary-indep clean
)",
                       k.build, any ? "arch" : "indep", k.install, any ? "indep" : "arch");
}

void write_package(Context& ctx, const fs::path& tree, const Kind& k, const std::string& version, const DistRef& d)
{
    std::string maintainer = fmt::format("{} <{}>", ctx.config().get("identity"), ctx.config().get("email"));
    make_dirs(tree / "debian/source");
    auto put = [&](const fs::path& p, std::string_view text, mode_t mode = 0644) {
        write_atomic(tree / p, text, mode, Durable::no);
    };
    put("selftest.c", "#include <stdio.h>\nint main(void)\n{\n    puts(\"mbd selftest\");\n    return 0;\n}\n");
    put("debian/source/format", "3.0 (native)\n");
    put("debian/rules", rules(k), 0755);
    put("debian/control",
        fmt::format("Source: {0}\nSection: misc\nPriority: optional\nMaintainer: {1}\nStandards-Version: 4.6.2\n"
                    "Rules-Requires-Root: no\n\nPackage: {0}\nArchitecture: {2}\nDepends: ${{shlibs:Depends}}, "
                    "${{misc:Depends}}\nDescription: mbd's self-test package ({3})\n Uploaded by mbd-repo selftest "
                    "to prove that this instance builds, publishes\n and serves packages; safe to remove.\n",
                    k.source, maintainer, k.architecture, k.fails ? "its build fails on purpose" : k.architecture));
    put("debian/copyright",
        fmt::format("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: {}\n\n"
                    "Files: *\nCopyright: {}\nLicense: public-domain\n A test package made by mbd.\n",
                    k.source, maintainer));
    put("debian/changelog", fmt::format("{} ({}) {}; urgency=medium\n\n  * mbd-repo selftest.\n\n -- {}  {}\n", k.source,
                                        version, d.name, maintainer, rfc2822_time(now_seconds())));
}

// The distribution a self-test goes to.
DistRef target(db::Db& db, const SelftestOptions& o)
{
    auto repo = get_repository(db, o.repository);
    DistRef d;
    if (!o.dist.empty()) {
        d = find_dist(db, o.dist);
    } else {
        if (repo.dists.empty())
            throw fail(Exit::not_found, "repository '{}' has no codename", repo.id);
        auto layout = get_layout(db, repo.layout);
        // the suite named experimental, else the first experimental one, else the first that takes uploads
        auto rank = [](const Suite& s) { return s.name == "experimental" ? 0 : s.experimental ? 1 : 2; };
        const Suite* pick = nullptr;
        for (const auto& s : layout.suites)
            if (s.uploadable && (!pick || rank(s) < rank(*pick)))
                pick = &s;
        if (!pick)
            throw fail(Exit::rejected, "layout '{}' has no suite that takes uploads", layout.name);
        d = find_suite_dist(db, repo.id, repo.dists.front().codename, pick->name);
    }
    if (d.repository != repo.id)
        throw fail(Exit::usage, "'{}' is not a distribution of repository '{}'", d.name, repo.id);
    if (auto why = repo::upload_rejection(db, d, "mbd-selftest-all", "1", true);
        why && (d.is_rollback() || !repo::suite_of(db, d).uploadable))
        throw fail(Exit::rejected, "cannot test '{}': {}", d.name, *why);
    return d;
}

// Where each package stands now.
void observe(Context& ctx, std::vector<SelftestPackage>& packages)
{
    auto uploads = upload::list_uploads(ctx);
    for (auto& p : packages) {
        auto u = std::find_if(uploads.begin(), uploads.end(),
                              [&](const auto& x) { return x.source == p.source && x.version == p.version; });
        if (u != uploads.end()) {
            p.state = u->status;
            p.architectures.clear();
            for (const auto& b : u->builds) {
                if (b.status == "successful" || b.status == "failed")
                    p.architectures.push_back(b.architecture);
                if (b.status == "failed")
                    p.log = b.id;
            }
            continue;
        }
        EventFilter f;
        f.type = "REJECTED";
        f.source = p.source;
        for (const auto& e : list_events(ctx.db(), f))
            if (e.version == p.version) {
                p.state = "rejected";
                p.problem = e.message;
            }
    }
}

bool finished(const std::string& state) { return state == "installed" || state == "failed" || state == "rejected"; }

// apt, in a directory of its own, reads the published suite (signed by the instance key)
// and downloads each binary: ARCH for each that it fetched, verified.
void fetch_with_apt(Context& ctx, const DistRef& d, const std::vector<std::string>& archs,
                    std::vector<SelftestPackage>& packages)
{
    make_dirs(ctx.home().tmp());
    TempDir t(ctx.home().tmp(), "selftest-apt");
    fs::path dir = t.path();
    write_atomic(dir / "key.asc", keys::instance_public_key(ctx), 0644, Durable::no);
    write_atomic(dir / "sources.list",
                 fmt::format("deb [signed-by={}] {} {} main\n", (dir / "key.asc").string(),
                             repo::repository_url(ctx, d.repository), d.name),
                 0644, Durable::no);
    write_atomic(dir / "status", "", 0644, Durable::no);
    for (auto sub : {"lists/partial", "cache/archives/partial", "none", "dl"})
        make_dirs(dir / sub);
    std::vector<std::string> apt{"apt-get", "-q", "-o", "Dir=" + dir.string() + "/", "-o",
                                 "Dir::State::status=" + (dir / "status").string(), "-o",
                                 "Dir::State::Lists=" + (dir / "lists").string(), "-o",
                                 "Dir::Cache=" + (dir / "cache").string(), "-o",
                                 "Dir::Etc::SourceList=" + (dir / "sources.list").string(), "-o",
                                 "Dir::Etc::SourceParts=" + (dir / "none").string(), "-o",
                                 "Dir::Etc::Trusted=/dev/null", "-o",
                                 "Dir::Etc::TrustedParts=" + (dir / "none").string(), "-o",
                                 "Dir::Etc::Preferences=/dev/null", "-o",
                                 "Dir::Etc::PreferencesParts=" + (dir / "none").string(), "-o", "Debug::NoLocking=1",
                                 "-o", "APT::Sandbox::User=" + current_user(), "-o", "Acquire::Languages=none",
                                 "-o", "APT::Architecture=" + archs.front()};
    for (const auto& a : archs)
        apt.insert(apt.end(), {"-o", "APT::Architectures::=" + a});
    auto update = apt;
    update.insert(update.end(), {"update", "--error-on=any"});
    auto r = run(update, {.cwd = dir, .timeout_seconds = 300});
    if (r.status != 0) {
        for (auto& p : packages)
            if (!p.expect_failure && p.problem.empty())
                p.problem = fmt::format("apt-get update of '{}' failed: {}", d.name, printable(trim(r.out + r.err), 400));
        return;
    }
    for (auto& p : packages) {
        if (p.expect_failure || p.state != "installed")
            continue;
        std::vector<std::string> want = p.source == "mbd-selftest-any" ? archs : std::vector<std::string>{"all"};
        for (const auto& a : want) {
            auto download = apt;
            download.insert(download.end(),
                            {"download", a == "all" ? p.source : p.source + ":" + a});
            auto dl = run(download, {.cwd = dir / "dl", .timeout_seconds = 300});
            if (dl.status == 0)
                p.fetched.push_back(a);
            else if (p.problem.empty())
                p.problem = fmt::format("apt could not fetch {} for {}: {}", p.source, a,
                                        printable(trim(dl.out + dl.err), 400));
        }
    }
}

} // namespace

bool SelftestReport::ok() const
{
    return std::all_of(packages.begin(), packages.end(), [](const auto& p) { return p.problem.empty(); });
}

SelftestReport selftest(Context& ctx, const SelftestOptions& o)
{
    auto& db = ctx.db();
    DistRef d = target(db, o);
    auto repo = get_repository(db, d.repository);
    auto archs = repository_architectures(repo, get_distribution(db, d.codename));
    require_program("dpkg-buildpackage", "dpkg-dev");
    SelftestReport report{d.name, {}};
    std::string serial = std::to_string(now_seconds());
    for (const auto& k : kinds) {
        std::string version = repo::port_version(ctx, serial, d.name, d.name);
        make_dirs(ctx.home().tmp());
        TempDir work(ctx.home().tmp(), "selftest");
        write_package(ctx, work.path() / "src", k, version, d);
        repo::upload_source_tree(ctx, work.path(), work.path() / "src", k.source, version);
        report.packages.push_back({std::string(k.source), version, k.fails, "uploaded", {}, {}, {}, {}});
    }
    if (!o.wait)
        return report;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(o.timeout_seconds);
    std::vector<std::string> shown(report.packages.size());
    for (;;) {
        observe(ctx, report.packages);
        bool done = true;
        for (std::size_t i = 0; i < report.packages.size(); ++i) {
            const auto& p = report.packages[i];
            done = done && finished(p.state);
            if (o.progress && p.state != shown[i])
                std::cerr << fmt::format("selftest: {} {}: {}\n", p.source, p.version, p.state);
            shown[i] = p.state;
        }
        if (done || std::chrono::steady_clock::now() >= until)
            break;
        std::this_thread::sleep_for(std::chrono::seconds(2));
    }
    for (auto& p : report.packages) {
        if (!finished(p.state)) {
            p.problem = fmt::format("not finished within {} s (still {})", o.timeout_seconds, p.state);
            p.state = "timeout";
        } else if (p.expect_failure && p.state != "failed") {
            p.problem = p.state == "rejected" ? "rejected: " + p.problem : "built, though its build must fail";
        } else if (!p.expect_failure && p.state != "installed") {
            p.problem = p.state == "rejected" ? "rejected: " + p.problem
                                              : fmt::format("its build failed (mbd-build log {})", p.log);
        } else if (!p.expect_failure && p.source == "mbd-selftest-any" && p.architectures.size() != archs.size()) {
            p.problem = fmt::format("built for {} of {}", join(p.architectures, " "), join(archs, " "));
        } else {
            p.problem.clear();
        }
    }
    fetch_with_apt(ctx, d, archs, report.packages);
    return report;
}

Json to_json(const SelftestReport& r)
{
    Json list = Json::array();
    for (const auto& p : r.packages) {
        Json archs = Json::array(), fetched = Json::array();
        for (const auto& a : p.architectures)
            archs.push(a);
        for (const auto& a : p.fetched)
            fetched.push(a);
        list.push(Json::object()
                      .set("source", p.source)
                      .set("version", p.version)
                      .set("expect_failure", p.expect_failure)
                      .set("state", p.state)
                      .set("architectures", archs)
                      .set("fetched_by_apt", fetched)
                      .set("log", p.log)
                      .set("ok", p.problem.empty())
                      .set("problem", p.problem));
    }
    return Json::object().set("distribution", r.dist).set("ok", r.ok()).set("packages", list);
}

} // namespace mbd::app
