#include "remote/status.hpp"

#include "build/queue.hpp"
#include "chroot/chroot.hpp"
#include "core/about.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/names.hpp"
#include "core/strings.hpp"
#include "db/db.hpp"
#include "deb822/deb822.hpp"
#include "keys/instance.hpp"

#include <algorithm>
#include <ctime>
#include <set>

namespace mbd::remote {
namespace {

long long need_number(const deb822::Paragraph& p, std::string_view field)
{
    auto v = parse_int(trim(p.get(field)));
    if (!v || *v < 0)
        throw fail(Exit::rejected, "status document: field '{}' is not a number: '{}'", field, p.get(field));
    return *v;
}

std::string need_text(const deb822::Paragraph& p, std::string_view field)
{
    std::string v(trim(p.get(field)));
    if (v.empty())
        throw fail(Exit::rejected, "status document: missing field '{}'", field);
    return v;
}

} // namespace

std::optional<long long> parse_iso_time(std::string_view text)
{
    std::tm tm{};
    std::string s(text);
    const char* end = ::strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!end || *end)
        return std::nullopt;
    return static_cast<long long>(::timegm(&tm));
}

std::string StatusDocument::to_text() const
{
    deb822::Paragraph p;
    p.set("Protocol", std::to_string(protocol));
    p.set("Identity", identity);
    p.set("Mbd-Version", version);
    p.set("Fingerprint", fingerprint);
    p.set("Date", iso_time(date));
    p.set("Capacity", std::to_string(capacity));
    p.set("Running", std::to_string(running));
    p.set("Queued", std::to_string(queued));
    std::string lines;
    for (const auto& c : chroots)
        lines += fmt::format("\n{} {} {}", c.codename, c.architecture, c.status);
    p.set("Chroots", lines);
    lines.clear();
    for (const auto& r : remotes)
        lines += fmt::format("\n{} {} {} {}", r.fingerprint, to_string(r.status), to_string(r.flag), r.url);
    p.set("Remotes", lines);
    p.set("Public-Key", "\n" + std::string(trim_right(public_key)));
    return p.to_string();
}

StatusDocument StatusDocument::parse(std::string_view content)
{
    auto p = deb822::parse_one(content, "status document");
    StatusDocument d;
    auto protocol = parse_int(trim(p.get("Protocol")));
    if (!protocol)
        throw fail(Exit::rejected, "status document: no protocol version");
    d.protocol = int(*protocol);
    d.identity = need_text(p, "Identity");
    d.version = need_text(p, "Mbd-Version");
    d.fingerprint = need_text(p, "Fingerprint");
    names::check(names::fingerprint, d.fingerprint, Exit::rejected);
    auto date = parse_iso_time(need_text(p, "Date"));
    if (!date)
        throw fail(Exit::rejected, "status document: malformed date '{}'", p.get("Date"));
    d.date = *date;
    d.capacity = need_number(p, "Capacity");
    d.running = need_number(p, "Running");
    d.queued = need_number(p, "Queued");
    for (const auto& line : p.lines("Chroots")) {
        auto w = split_ws(line);
        if (w.empty())
            continue;
        if (w.size() != 3 || !names::codename.valid(w[0]) || !names::architecture.valid(w[1]))
            throw fail(Exit::rejected, "status document: malformed chroot line '{}'", line);
        d.chroots.push_back({std::string(w[0]), std::string(w[1]), std::string(w[2])});
    }
    for (const auto& line : p.lines("Remotes")) {
        auto w = split_ws(line);
        if (w.empty())
            continue;
        auto status = w.size() == 4 && names::fingerprint.valid(w[0]) ? parse_status(w[1]) : std::nullopt;
        auto flag = w.size() == 4 ? parse_check_flag(w[2]) : std::nullopt;
        if (!status || !flag)
            throw fail(Exit::rejected, "status document: malformed remote line '{}'", line);
        d.remotes.push_back({std::string(w[0]), *status, *flag, std::string(w[3])});
    }
    for (const auto& line : p.lines("Public-Key"))
        d.public_key += line + "\n";
    if (d.public_key.empty())
        throw fail(Exit::rejected, "status document: no public key");
    return d;
}

const KnownPeer* StatusDocument::find_peer(std::string_view fingerprint) const
{
    for (const auto& r : remotes)
        if (iequals(r.fingerprint, fingerprint))
            return &r;
    return nullptr;
}

bool StatusDocument::has_active_chroot(std::string_view codename, std::string_view architecture) const
{
    return std::any_of(chroots.begin(), chroots.end(), [&](const ChrootInfo& c) {
        return c.codename == codename && c.architecture == architecture && c.status == "active";
    });
}

std::vector<ChrootInfo> local_chroots(Context& ctx)
{
    std::vector<ChrootInfo> out;
    for (const auto& c : chroot::list(ctx))
        if (c.status.status != Status::removed)
            out.push_back({c.codename, c.arch, local_chroot_available(ctx, c.codename, c.arch) ? "active" : "prepared"});
    return out;
}

bool local_chroot_available(Context& ctx, const std::string& codename, const std::string& architecture)
{
    try {
        chroot::find_usable(ctx, codename, architecture);
        return true;
    } catch (const Error&) {
        return false;
    }
}

Load local_load(Context& ctx)
{
    std::set<std::string> queued;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(ctx.home().spool_build(), ec))
        if (e.is_directory() && !e.path().filename().string().starts_with("."))
            queued.insert(e.path().filename().string());
    Load load;
    for (const auto& job : build::list_jobs(ctx)) {
        if (!queued.count(job.key))
            continue;
        if (job.status == "running")
            ++load.running;
        if (job.status == "running" || job.status == "waiting")
            queued.erase(job.key);
    }
    load.queued = static_cast<long long>(queued.size());
    load.capacity = std::max(1LL, ctx.config().get_int("build.jobs"));
    return load;
}

StatusDocument local_status(Context& ctx)
{
    auto key = keys::require_instance_key(ctx);
    StatusDocument d;
    d.protocol = protocol_version;
    d.identity = ctx.config().get("identity");
    d.version = mbd::version();
    d.fingerprint = key.info.fingerprint;
    d.date = now_seconds();
    auto load = local_load(ctx);
    d.capacity = load.capacity;
    d.running = load.running;
    d.queued = load.queued;
    d.chroots = local_chroots(ctx);
    auto rows = ctx.db().query("SELECT fingerprint, status, check_flag, url FROM remotes ORDER BY name");
    while (rows.step())
        d.remotes.push_back({rows.text(0), parse_status(rows.text(1)).value_or(Status::prepared),
                             parse_check_flag(rows.text(2)).value_or(CheckFlag::unchecked), rows.text(3)});
    d.public_key = keys::instance_keyring(ctx.home()).export_key(key.info.fingerprint, true);
    return d;
}

std::filesystem::path status_file(const Home& home) { return home.var() / "status.asc"; }

std::string publish_status(Context& ctx)
{
    auto signed_text = keys::clearsign(ctx, local_status(ctx).to_text());
    write_atomic(status_file(ctx.home()), signed_text);
    return signed_text;
}

} // namespace mbd::remote
