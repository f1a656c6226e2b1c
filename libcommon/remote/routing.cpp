#include "remote/routing.hpp"

#include "build/queue.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/strings.hpp"
#include "core/wake.hpp"
#include "db/db.hpp"
#include "deb822/deb822.hpp"
#include "events/events.hpp"
#include "keys/instance.hpp"
#include "remote/remotes.hpp"
#include "remote/status.hpp"

#include <algorithm>
#include <atomic>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mbd::remote {
namespace {

constexpr std::uintmax_t max_request_size = 1 << 20;
constexpr std::string_view local_builder = "local";

struct Candidate {
    std::string name, fingerprint;
    long long load = 0, capacity = 1, turn = 0;
};

struct Decision {
    std::optional<Candidate> chosen;
    std::string message;
};

std::string our_fingerprint(Context& ctx)
{
    auto key = keys::find_instance_key(ctx);
    if (!key)
        throw fail(Exit::not_found, "this instance has no key (run 'mbd-keygen init')");
    return key->info.fingerprint;
}

long long turn_of(db::Db& db, const std::string& builder)
{
    return db.scalar_int("SELECT seq FROM route_turns WHERE builder = ?", builder).value_or(0);
}

// Lower load first (compared as fractions), then the builder given a request
// least recently, then this instance, then by name.
bool better(const Candidate& a, const Candidate& b)
{
    long long x = a.load * b.capacity, y = b.load * a.capacity;
    if (x != y)
        return x < y;
    if (a.turn != b.turn)
        return a.turn < b.turn;
    if ((a.name == local_builder) != (b.name == local_builder))
        return a.name == local_builder;
    return a.name < b.name;
}

Decision decide(Context& ctx, const std::string& codename, const std::string& arch,
                const std::vector<std::string>& exclude, const std::string& me)
{
    auto& db = ctx.db();
    auto excluded = [&](const std::string& f) { return std::find(exclude.begin(), exclude.end(), f) != exclude.end(); };
    std::vector<Candidate> all;
    std::vector<std::string> skipped;
    if (!excluded(me)) {
        if (local_chroot_available(ctx, codename, arch)) {
            auto load = local_load(ctx);
            all.push_back({std::string(local_builder), me, load.running + load.queued, load.capacity,
                           turn_of(db, std::string(local_builder))});
        } else {
            skipped.push_back("local: no chroot");
        }
    }
    long long now = now_seconds(), max_age = ctx.config().get_int("remote.status_max_age");
    for (const auto& r : list_remotes(ctx)) {
        if (excluded(r.fingerprint)) {
            skipped.push_back(r.name + ": routed away from");
            continue;
        }
        if (auto why = unusable_reason(r, me, now, max_age)) {
            skipped.push_back(r.name + ": " + *why);
            continue;
        }
        if (!r.peer->has_active_chroot(codename, arch)) {
            skipped.push_back(r.name + ": no chroot");
            continue;
        }
        long long pending = db.scalar_int("SELECT COUNT(*) FROM routes WHERE builder = ? AND seq > ? AND state IN "
                                          "('outgoing', 'sent')",
                                          r.name, r.status_seq)
                                .value_or(0);
        all.push_back({r.name, r.fingerprint, r.peer->running + r.peer->queued + pending, r.peer->capacity,
                       turn_of(db, r.name)});
    }
    Decision d;
    std::string loads;
    for (const auto& c : all)
        loads += fmt::format("{}{} {}/{}", loads.empty() ? "" : ", ", c.name, c.load, c.capacity);
    std::string skips = skipped.empty() ? "" : fmt::format("; skipped {}", fmt::join(skipped, ", "));
    if (all.empty()) {
        d.message = fmt::format("waiting: no builder for {}/{}{}", codename, arch, skips);
        return d;
    }
    d.chosen = *std::min_element(all.begin(), all.end(), better);
    d.message = fmt::format("to {} (loads: {}){}", d.chosen->name, loads, skips);
    return d;
}

void link_or_copy(const std::filesystem::path& from, const std::filesystem::path& to)
{
    if (::link(from.c_str(), to.c_str()) != 0)
        copy_atomic(from, to);
}

std::filesystem::path item_in(const Home& home, const Route& r, const std::string& key)
{
    if (r.state == "outgoing")
        return home.spool_outgoing() / r.builder / key;
    if (r.state == "waiting")
        return waiting_dir(home) / key;
    if (r.state == "sent")
        return sent_dir(home) / key;
    return {};
}

// A new item: the request's files and the signed request, complete or absent.
void write_item(const std::filesystem::path& item, const build::Request& request, const std::string& key,
                const std::string& signed_request, const std::filesystem::path& source_dir)
{
    std::error_code ec;
    if (std::filesystem::exists(item, ec))
        return;
    auto tmp = item.parent_path() / ("." + key + ".new");
    std::filesystem::remove_all(tmp, ec);
    make_dirs(tmp);
    for (const auto& f : request.files)
        link_or_copy(source_dir / f.name, tmp / f.name);
    write_atomic(tmp / (key + std::string(request_suffix)), signed_request);
    if (::rename(tmp.c_str(), item.c_str()) != 0)
        throw sys_error(fmt::format("cannot create '{}'", item.string()));
    fsync_dir(item.parent_path());
}

void move_item(const std::filesystem::path& from, const std::filesystem::path& to)
{
    make_dirs(to.parent_path());
    std::error_code ec;
    std::filesystem::remove_all(to, ec);
    if (::rename(from.c_str(), to.c_str()) != 0)
        throw sys_error(fmt::format("cannot move '{}' to '{}'", from.string(), to.string()));
    fsync_dir(to.parent_path());
}

// The request in an item, verified as ours.
std::pair<build::Request, std::string> read_item(Context& ctx, const std::filesystem::path& item, const std::string& key)
{
    auto signed_text = read_file_nofollow(item / (key + std::string(request_suffix)), max_request_size);
    auto v = keys::instance_keyring(ctx.home()).verify_clearsigned(signed_text);
    return {build::Request::parse(deb822::parse_one(v.content, key)), signed_text};
}

// Record a decision for request id (its fields from request or the existing route).
Route record(Context& ctx, const Route& base, const Decision& d, const std::string& why)
{
    auto& db = ctx.db();
    long long seq = db.scalar_int("SELECT COALESCE(MAX(seq), 0) + 1 FROM routes").value_or(1);
    Route r = base;
    std::string old = r.fingerprint;
    if (!old.empty() && d.chosen && old != d.chosen->fingerprint && r.previous.find(old) == std::string::npos)
        r.previous += (r.previous.empty() ? "" : " ") + old;
    r.builder = d.chosen ? d.chosen->name : "";
    r.fingerprint = d.chosen ? d.chosen->fingerprint : "";
    r.state = !d.chosen ? "waiting" : d.chosen->name == local_builder ? "local" : "outgoing";
    r.seq = seq;
    r.routed = now_seconds();
    r.sent = 0;
    r.message = why.empty() ? d.message : why + "; " + d.message;
    db.run("INSERT INTO routes(id, source, version, distribution, codename, architecture, builder, fingerprint, "
           "state, seq, routed, previous, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
           "ON CONFLICT(id) DO UPDATE SET builder = excluded.builder, fingerprint = excluded.fingerprint, "
           "state = excluded.state, seq = excluded.seq, routed = excluded.routed, sent = NULL, "
           "previous = excluded.previous, message = excluded.message",
           r.id, r.source, r.version, r.distribution, r.codename, r.architecture, r.builder, r.fingerprint, r.state,
           r.seq, r.routed, r.previous, r.message);
    if (d.chosen)
        db.run("INSERT INTO route_turns(builder, seq) VALUES (?, ?) ON CONFLICT(builder) DO UPDATE SET seq = "
               "excluded.seq",
               r.builder, seq);
    record_event(db, Event{0, 0, "ROUTED", r.source, r.version, r.distribution, r.architecture,
                           fmt::format("build request {} {}", r.id, r.message), {}});
    return r;
}

// Put an existing item where its route says (after a decision, or to finish
// one a crash interrupted).
void settle(Context& ctx, const Route& r, const std::filesystem::path& item, const std::string& key)
{
    const Home& home = ctx.home();
    if (r.state == "local") {
        auto me = our_fingerprint(ctx);
        if (!build::has_job(ctx.db(), me, r.id)) {
            auto [request, signed_text] = read_item(ctx, item, key);
            build::enqueue(home, request, signed_text, item);
        }
        std::error_code ec;
        std::filesystem::remove_all(item, ec);
        return;
    }
    auto target = item_in(home, r, key);
    if (target.empty()) { // returned: nothing left to do with it
        std::error_code ec;
        std::filesystem::remove_all(item, ec);
        return;
    }
    if (target != item) {
        move_item(item, target);
        if (r.state == "outgoing")
            notify_outgoing(home);
    }
}

// Put a new request's files where its route says (again after a crash: idempotent).
Route place_new(Context& ctx, const Route& route, const build::Request& request, const std::string& signed_request,
                const std::filesystem::path& source_dir)
{
    const Home& home = ctx.home();
    auto key = build::request_key(request.requester, request.id);
    if (route.state == "local") {
        if (!build::has_job(ctx.db(), request.requester, request.id))
            build::enqueue(home, request, signed_request, source_dir);
    } else if (route.state == "outgoing" || route.state == "waiting") {
        std::error_code ec;
        auto item = item_in(home, route, key);
        make_dirs(item.parent_path());
        if (!std::filesystem::exists(sent_dir(home) / key, ec))
            write_item(item, request, key, signed_request, source_dir);
        if (route.state == "outgoing")
            notify_outgoing(home);
    }
    return route;
}

Route read_route(db::Stmt& q)
{
    Route r;
    r.id = q.text(0);
    r.source = q.text(1);
    r.version = q.text(2);
    r.distribution = q.text(3);
    r.codename = q.text(4);
    r.architecture = q.text(5);
    r.builder = q.text(6);
    r.fingerprint = q.text(7);
    r.state = q.text(8);
    r.previous = q.text(9);
    r.message = q.text(10);
    r.seq = q.int64(11);
    r.routed = q.int64(12);
    r.sent = q.opt_int64(13).value_or(0);
    r.returned = q.opt_int64(14).value_or(0);
    return r;
}

constexpr std::string_view route_columns = "id, source, version, distribution, codename, architecture, builder, "
                                           "fingerprint, state, previous, message, seq, routed, sent, returned";

} // namespace

std::filesystem::path waiting_dir(const Home& home) { return home.var() / "spool/waiting"; }
std::filesystem::path sent_dir(const Home& home) { return home.var() / "spool/sent"; }

void notify_outgoing(const Home& home)
{
    make_dirs(home.spool_outgoing());
    ::utimensat(AT_FDCWD, home.spool_outgoing().c_str(), nullptr, 0);
    wake::raise(home, wake::Pass::outgoing);
}

build::Delivery result_delivery()
{
    return {delivery_route, [](const Home& home, const std::filesystem::path& dir) {
                if (dir == home.incoming())
                    wake::raise(home, wake::Pass::incoming);
                else
                    notify_outgoing(home); // a result for a peer: mbd-remote sends it
            }};
}

std::optional<Route> find_route(Context& ctx, const std::string& id)
{
    auto q = ctx.db().query(fmt::format("SELECT {} FROM routes WHERE id = ?", route_columns), id);
    if (!q.step())
        return std::nullopt;
    return read_route(q);
}

std::vector<Route> list_routes(Context& ctx)
{
    auto q = ctx.db().query(fmt::format("SELECT {} FROM routes ORDER BY seq", route_columns));
    std::vector<Route> out;
    while (q.step())
        out.push_back(read_route(q));
    return out;
}

Route route_request(Context& ctx, const build::Request& request, const std::string& signed_request,
                    const std::filesystem::path& source_dir)
{
    auto me = our_fingerprint(ctx);
    if (request.requester != me)
        throw fail(Exit::failed, "build request {} is from {}, not from this instance: it is built here, not routed",
                   request.id, request.requester);
    auto& db = ctx.db();
    std::optional<Route> route;
    {
        db::Transaction tx(db);
        route = find_route(ctx, request.id);
        if (!route) {
            Route base;
            base.id = request.id;
            base.source = request.source;
            base.version = request.version;
            base.distribution = request.distribution;
            base.codename = request.codename;
            base.architecture = request.architecture;
            route = record(ctx, base, decide(ctx, request.codename, request.architecture, {}, me), {});
            tx.commit();
        }
    }
    return place_new(ctx, *route, request, signed_request, source_dir);
}

bool reroute(Context& ctx, const Route& seen, const std::filesystem::path& item,
             const std::vector<std::string>& exclude, const std::string& why, bool to_waiting)
{
    auto me = our_fingerprint(ctx);
    auto& db = ctx.db();
    std::optional<Route> route;
    {
        db::Transaction tx(db);
        route = find_route(ctx, seen.id);
        if (!route || route->seq != seen.seq || route->state != seen.state)
            return false;
        auto d = decide(ctx, route->codename, route->architecture, exclude, me);
        if (!d.chosen && (!to_waiting || route->state == "waiting"))
            return false;
        route = record(ctx, *route, d, why);
        tx.commit();
    }
    settle(ctx, *route, item, build::request_key(me, seen.id));
    return true;
}

void settle_item(Context& ctx, const Route& route, const std::filesystem::path& item)
{
    settle(ctx, route, item, build::request_key(our_fingerprint(ctx), route.id));
}

std::filesystem::path delivery_route(Context& ctx, const std::string& requester)
{
    static std::atomic<int> counter{0};
    const Home& home = ctx.home();
    std::string fpr;
    for (char c : requester.substr(0, 40))
        if (std::isxdigit(static_cast<unsigned char>(c)))
            fpr += char(std::toupper(static_cast<unsigned char>(c)));
    std::string peer = "unknown-" + (fpr.empty() ? std::string("invalid") : fpr);
    try {
        if (auto key = keys::find_instance_key(ctx); key && key->info.fingerprint == fpr)
            return home.incoming();
        if (auto r = find_remote_by_fingerprint(ctx, fpr))
            peer = r->name;
    } catch (const std::exception& e) {
        log::warning("cannot look up the requester {}: {}; its result is kept in '{}'", requester, e.what(), peer);
    }
    auto item = home.spool_outgoing() / peer /
                fmt::format("result-{}-{}-{}", now_seconds(), ::getpid(), counter.fetch_add(1));
    make_dirs(item);
    return item;
}

ResultCheck accept_result(Context& ctx, const std::string& request_id, const std::string& signer)
{
    auto me = our_fingerprint(ctx);
    auto& db = ctx.db();
    db::Transaction tx(db);
    auto route = find_route(ctx, request_id);
    if (!route) {
        if (signer == me)
            return {ResultVerdict::current, "built here"};
        return {ResultVerdict::unexpected,
                fmt::format("build request '{}' was never routed, and {} is not this instance", request_id, signer)};
    }
    if (signer == route->fingerprint) {
        if (route->state == "returned")
            return {ResultVerdict::duplicate,
                    fmt::format("the result of build request '{}' from {} was accepted already", request_id,
                                route->builder)};
        db.run("UPDATE routes SET state = 'returned', returned = ? WHERE id = ?", now_seconds(), request_id);
        tx.commit();
        std::error_code ec;
        std::filesystem::remove_all(sent_dir(ctx.home()) / build::request_key(me, request_id), ec);
        return {ResultVerdict::current, fmt::format("built by {}", route->builder)};
    }
    if (!signer.empty() && route->previous.find(signer) != std::string::npos)
        return {ResultVerdict::late, fmt::format("late result of build request '{}' from {}: it was re-routed to {}",
                                                 request_id, signer, route->builder.empty() ? "waiting" : route->builder)};
    return {ResultVerdict::unexpected, fmt::format("build request '{}' was routed to {} ({}), not to {}", request_id,
                                                   route->builder.empty() ? "no builder" : route->builder,
                                                   route->fingerprint, signer)};
}

std::string describe(const std::vector<Route>& routes)
{
    std::string out;
    for (const auto& r : routes)
        out += fmt::format("{} {} {} {} {} {}/{} {}\n", r.id, r.state, r.builder.empty() ? "-" : r.builder, r.source,
                           r.version, r.codename, r.architecture, r.message);
    return out;
}

Json to_json(const Route& r)
{
    Json previous = Json::array();
    for (auto f : split_ws(r.previous))
        previous.push(std::string(f));
    return Json::object()
        .set("id", r.id)
        .set("source", r.source)
        .set("version", r.version)
        .set("distribution", r.distribution)
        .set("codename", r.codename)
        .set("architecture", r.architecture)
        .set("builder", r.builder.empty() ? Json() : Json(r.builder))
        .set("fingerprint", r.fingerprint.empty() ? Json() : Json(r.fingerprint))
        .set("state", r.state)
        .set("previous", previous)
        .set("message", r.message)
        .set("routed", json_time(r.routed))
        .set("sent", json_time(r.sent))
        .set("returned", json_time(r.returned));
}

} // namespace mbd::remote
