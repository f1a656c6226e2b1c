#include "remote/remotes.hpp"

#include "core/about.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/names.hpp"
#include "core/strings.hpp"
#include "db/db.hpp"
#include "debian/control_files.hpp"
#include "gpg/gpg.hpp"
#include "keys/instance.hpp"
#include "keys/peers.hpp"
#include "keys/trust_set.hpp"
#include "remote/transport.hpp"

#include <algorithm>

namespace mbd::remote {
namespace {

constexpr std::string_view columns = "name, url, fingerprint, status, check_flag, last_check, added, message, "
                                     "status_document, status_fetched, status_seq";

Remote read_row(db::Stmt& q)
{
    Remote r;
    r.name = q.text(0);
    r.url = q.text(1);
    r.fingerprint = q.text(2);
    r.status.status = parse_status(q.text(3)).value_or(Status::prepared);
    r.status.flag = parse_check_flag(q.text(4)).value_or(CheckFlag::unchecked);
    r.status.last_check = q.int64(5);
    r.added = q.int64(6);
    r.message = q.text(7);
    if (auto doc = q.text(8); !doc.empty()) {
        try {
            r.peer = StatusDocument::parse(doc);
        } catch (const Error& e) {
            log::debug("remote", "cached status of '{}' unreadable: {}", r.name, e.what());
        }
    }
    r.status_fetched = q.int64(9);
    r.status_seq = q.int64(10);
    return r;
}

std::optional<Remote> find_by(Context& ctx, std::string_view column, std::string_view value)
{
    auto q = ctx.db().query(fmt::format("SELECT {} FROM remotes WHERE {} = ?", columns, column), value);
    if (!q.step())
        return std::nullopt;
    return read_row(q);
}

long long route_seq(db::Db& db) { return db.scalar_int("SELECT COALESCE(MAX(seq), 0) FROM routes").value_or(0); }

void store_status(Context& ctx, const Remote& r, const ModelStatus& ms, const std::string& message)
{
    auto& db = ctx.db();
    db::Transaction tx(db);
    db.run("UPDATE remotes SET status = ?, check_flag = ?, last_check = ?, message = ? WHERE name = ?",
           to_string(ms.status), to_string(ms.flag), ms.last_check, message, r.name);
    tx.commit();
    keys::set_peer_key_active(ctx, r.fingerprint, ms.status == Status::active);
}

void store_document(Context& ctx, const std::string& name, const StatusDocument& doc)
{
    auto& db = ctx.db();
    db::Transaction tx(db);
    db.run("UPDATE remotes SET status_document = ?, status_fetched = ?, status_seq = ? WHERE name = ?", doc.to_text(),
           now_seconds(), route_seq(db), name);
    tx.commit();
}

void require_protocol(const std::string& name, const StatusDocument& doc)
{
    if (doc.protocol != protocol_version)
        throw fail(Exit::check_failed,
                   "remote '{}' speaks protocol {} (mbd {}), this mbd {} speaks protocol {}: upgrade the older one",
                   name, doc.protocol, doc.version, mbd::version(), protocol_version);
}

// A fresh status document of a known remote, verified against its pinned key.
// Key material carried by the document for that same key (a new expiry, a
// revocation) is taken into the trust set first.
StatusDocument verify_status(Context& ctx, const Remote& r, const std::string& signed_text)
{
    auto ring = keys::trust_set(ctx.home(), keys::remotes_set);
    auto shown = StatusDocument::parse(debian::unwrap_clearsigned_unverified(signed_text, "status document"));
    auto carried = ring.inspect_keys(shown.public_key);
    if (carried.size() != 1)
        throw fail(Exit::bad_signature, "the status document of '{}' carries {} keys", r.name, carried.size());
    if (carried.front().fingerprint != r.fingerprint)
        throw fail(Exit::bad_signature,
                   "remote '{}' now shows key {}, not its pinned key {} (if it has a new key, remove the remote and "
                   "add it again)",
                   r.name, carried.front().fingerprint, r.fingerprint);
    auto known = ring.find(r.fingerprint);
    if (!known || known->expires != carried.front().expires || known->revoked != carried.front().revoked)
        keys::add_peer_key(ctx, shown.public_key);
    auto v = ring.verify_clearsigned(signed_text);
    if (v.fingerprint != r.fingerprint)
        throw fail(Exit::bad_signature, "the status document of '{}' is signed by {}, not by its key {}", r.name,
                   v.fingerprint, r.fingerprint);
    auto doc = StatusDocument::parse(v.content);
    if (doc.fingerprint != r.fingerprint)
        throw fail(Exit::bad_signature, "the status document of '{}' names key {}, not {}", r.name, doc.fingerprint,
                   r.fingerprint);
    require_protocol(r.name, doc);
    return doc;
}

// Does the peer know us? Error(Exit::check_failed) saying what to do when not.
void require_known(const Remote& r, const StatusDocument& doc, std::string_view our_fingerprint)
{
    if (!doc.find_peer(our_fingerprint))
        throw fail(Exit::check_failed,
                   "'{}' does not know this instance (key {}) yet: add it there with 'mbd-remote add NAME URL "
                   "--fingerprint {}'",
                   r.name, our_fingerprint, our_fingerprint);
}

std::string load_text(const StatusDocument& d)
{
    return fmt::format("{}/{}", d.running + d.queued, d.capacity);
}

std::string chroots_text(const StatusDocument& d)
{
    std::string s;
    for (const auto& c : d.chroots)
        s += fmt::format("{}{}/{}{}", s.empty() ? "" : ",", c.codename, c.architecture,
                         c.status == "active" ? "" : "(" + c.status + ")");
    return s.empty() ? "-" : s;
}

} // namespace

Remote add_remote(Context& ctx, const std::string& name, const std::string& url,
                  const std::optional<std::string>& fingerprint)
{
    names::check(names::remote, name);
    auto where = parse_url(url);
    std::optional<std::string> pinned;
    if (fingerprint)
        pinned = keys::normalize_fingerprint(*fingerprint);
    auto me = keys::require_instance_key(ctx);
    if (find_by(ctx, "name", name))
        throw fail(Exit::exists, "remote '{}' exists", name);

    auto signed_text = open_transport(ctx, where)->fetch_status();
    auto shown = StatusDocument::parse(debian::unwrap_clearsigned_unverified(signed_text, "status document"));
    make_dirs(ctx.home().tmp());
    TempDir tmp(ctx.home().tmp(), "remote-key");
    gpg::Keyring ring(tmp.path() / "ring", gpg::Keyring::Kind::public_only);
    auto key = keys::import_one_key(ring, shown.public_key);
    if (pinned && key.fingerprint != *pinned)
        throw fail(Exit::bad_signature, "'{}' has key {}, not the pinned {}: nothing was added", url, key.fingerprint,
                   *pinned);
    auto v = ring.verify_clearsigned(signed_text);
    auto doc = StatusDocument::parse(v.content);
    if (v.fingerprint != key.fingerprint || doc.fingerprint != key.fingerprint)
        throw fail(Exit::bad_signature, "the status document of '{}' is not signed by the key it carries", url);
    require_protocol(name, doc);
    if (key.fingerprint == me.info.fingerprint)
        throw fail(Exit::usage, "'{}' is this instance (key {}): an instance is not its own remote", url,
                   key.fingerprint);
    if (auto other = find_by(ctx, "fingerprint", key.fingerprint))
        throw fail(Exit::exists, "key {} is remote '{}' already", key.fingerprint, other->name);
    if (!pinned) {
        log::notice("TRUST ON FIRST USE: remote '{}' ({}) has the instance key", name, doc.identity);
        log::notice("    {}", gpg::pretty_fingerprint(key.fingerprint));
        log::notice("compare it with 'mbd-keygen show' on that instance; if it differs, remove this remote at once "
                    "(pin a key with --fingerprint)");
    }

    keys::add_peer_key(ctx, doc.public_key);
    {
        auto& db = ctx.db();
        db::Transaction tx(db);
        auto ms = ModelStatus{}.after_prepare();
        db.run("INSERT INTO remotes(name, url, fingerprint, status, check_flag, added) VALUES (?, ?, ?, ?, ?, ?)", name,
               url, key.fingerprint, to_string(ms.status), to_string(ms.flag), now_seconds());
        tx.commit();
    }
    store_document(ctx, name, doc);
    auto r = get_remote(ctx, name);
    std::string message = "ok";
    try {
        require_known(r, doc, me.info.fingerprint);
    } catch (const Error& e) {
        message = e.what();
        log::notice("{}; then run 'mbd-remote activate {}' here", message, name);
    }
    store_status(ctx, r, r.status.after_check(message == "ok", now_seconds()), message);
    publish_status(ctx);
    return get_remote(ctx, name);
}

std::vector<Remote> list_remotes(Context& ctx)
{
    std::vector<Remote> out;
    auto q = ctx.db().query(fmt::format("SELECT {} FROM remotes ORDER BY name", columns));
    while (q.step())
        out.push_back(read_row(q));
    return out;
}

Remote get_remote(Context& ctx, const std::string& name)
{
    auto r = find_by(ctx, "name", name);
    if (!r)
        throw fail(Exit::not_found, "no remote '{}'", name);
    return *r;
}

std::optional<Remote> find_remote_by_fingerprint(Context& ctx, std::string_view fingerprint)
{
    return find_by(ctx, "fingerprint", fingerprint);
}

Remote check_remote(Context& ctx, const std::string& name)
{
    auto r = get_remote(ctx, name);
    auto me = keys::require_instance_key(ctx);
    std::optional<Error> failure;
    try {
        auto where = parse_url(r.url);
        auto doc = verify_status(ctx, r, open_transport(ctx, where)->fetch_status());
        store_document(ctx, name, doc);
        require_known(r, doc, me.info.fingerprint);
    } catch (const Error& e) {
        failure = e;
    } catch (const std::exception& e) {
        failure = Error(Exit::failed, e.what());
    }
    store_status(ctx, r, r.status.after_check(!failure, now_seconds()), failure ? failure->what() : "ok");
    publish_status(ctx);
    if (failure)
        throw fail(failure->code(), "remote '{}': {}", name, failure->what());
    return get_remote(ctx, name);
}

CheckAllReport check_all_remotes(Context& ctx)
{
    CheckAllReport report;
    for (const auto& r : list_remotes(ctx)) {
        try {
            check_remote(ctx, r.name);
        } catch (const Error& e) {
            log::error("{}", e.what());
            // the first failure that is not a peer being down (tempfail), if any
            if (report.failed++ == 0 || report.first_code == Exit::tempfail)
                report.first_code = e.code();
        }
    }
    report.remotes = list_remotes(ctx);
    if (report.remotes.empty() && keys::find_instance_key(ctx))
        publish_status(ctx); // what a peer adding us reads (file://)
    return report;
}

Remote activate_remote(Context& ctx, const std::string& name)
{
    std::optional<Error> failure;
    try {
        check_remote(ctx, name);
    } catch (const Error& e) {
        if (e.code() == Exit::not_found)
            throw;
        failure = e;
    }
    auto r = get_remote(ctx, name);
    auto ms = r.status.activate();
    store_status(ctx, r, ms, r.message);
    publish_status(ctx);
    if (ms.status != Status::active)
        throw fail(failure ? failure->code() : Exit::check_failed,
                   "remote '{}' is set to auto-reactivate (A): it becomes active with the first check that passes; "
                   "{}",
                   name, r.message);
    return get_remote(ctx, name);
}

Remote deactivate_remote(Context& ctx, const std::string& name)
{
    auto r = get_remote(ctx, name);
    store_status(ctx, r, r.status.deactivate(), r.message);
    publish_status(ctx);
    return get_remote(ctx, name);
}

void remove_remote(Context& ctx, const std::string& name)
{
    auto r = get_remote(ctx, name);
    if (r.status.status == Status::active)
        throw fail(Exit::state, "remote '{}' is active; deactivate it first", name);
    {
        auto& db = ctx.db();
        db::Transaction tx(db);
        db.run("DELETE FROM remotes WHERE name = ?", name);
        tx.commit();
    }
    if (keys::find_peer_key(ctx, r.fingerprint))
        keys::remove_peer_key(ctx, r.fingerprint);
    publish_status(ctx);
}

std::optional<std::string> unusable_reason(const Remote& r, std::string_view our_fingerprint, long long now,
                                           long long max_age)
{
    if (r.status.status != Status::active)
        return fmt::format("it is {}", r.status.display());
    if (!r.peer)
        return std::string("its status is unknown");
    if (now - r.peer->date > max_age)
        return fmt::format("its status is {} s old", now - r.peer->date);
    auto us = r.peer->find_peer(our_fingerprint);
    if (!us || us->status != Status::active)
        return std::string("it has not activated this instance");
    if (r.peer->capacity < 1)
        return std::string("it builds nothing (capacity 0)");
    return std::nullopt;
}

std::string describe(const Remote& r, std::string_view our_fingerprint)
{
    std::string out = fmt::format("name:        {}\nurl:         {}\nfingerprint: {}\nstatus:      {}\n"
                                  "last check:  {}{}\nadded:       {}\n",
                                  r.name, r.url, r.fingerprint, r.status.display(),
                                  r.status.last_check ? iso_time(r.status.last_check) : "never",
                                  r.message.empty() ? "" : " (" + r.message + ")", iso_time(r.added));
    if (!r.peer)
        return out;
    const auto& d = *r.peer;
    auto us = d.find_peer(our_fingerprint);
    out += fmt::format("identity:    {} (mbd {}, protocol {})\nits status:  of {}, fetched {}\n"
                       "load:        {} running, {} queued, capacity {}\nchroots:     {}\nknows us:    {}\n",
                       d.identity, d.version, d.protocol, iso_time(d.date), iso_time(r.status_fetched), d.running,
                       d.queued, d.capacity, chroots_text(d),
                       us ? fmt::format("{} as {}", ModelStatus{us->status, us->flag, 0}.display(), us->url) : "no");
    return out;
}

std::string describe(const std::vector<Remote>& remotes)
{
    std::string out;
    for (const auto& r : remotes)
        out += fmt::format("{:<16} {:<12} {:>6} {} {} {}\n", r.name, r.status.display(),
                           r.peer ? load_text(*r.peer) : "-", r.fingerprint, r.url,
                           r.peer ? chroots_text(*r.peer) : "-");
    return out;
}

Json to_json(const Remote& r, std::string_view our_fingerprint)
{
    Json peer;
    if (r.peer) {
        const auto& d = *r.peer;
        Json chroots = Json::array();
        for (const auto& c : d.chroots)
            chroots.push(Json::object()
                             .set("codename", c.codename)
                             .set("architecture", c.architecture)
                             .set("status", c.status));
        Json knows;
        if (auto us = d.find_peer(our_fingerprint))
            knows = Json::object()
                        .set("status", std::string(to_string(us->status)))
                        .set("check_flag", std::string(to_string(us->flag)))
                        .set("url", us->url);
        peer = Json::object()
                   .set("identity", d.identity)
                   .set("version", d.version)
                   .set("protocol", d.protocol)
                   .set("date", iso_time(d.date))
                   .set("fetched", iso_time(r.status_fetched))
                   .set("capacity", d.capacity)
                   .set("running", d.running)
                   .set("queued", d.queued)
                   .set("chroots", chroots)
                   .set("knows_us", knows);
    }
    return Json::object()
        .set("name", r.name)
        .set("url", r.url)
        .set("fingerprint", r.fingerprint)
        .set("status", std::string(to_string(r.status.status)))
        .set("check_flag", std::string(to_string(r.status.flag)))
        .set("display", r.status.display())
        .set("last_check", json_time(r.status.last_check))
        .set("message", r.message)
        .set("added", iso_time(r.added))
        .set("peer", peer);
}

} // namespace mbd::remote
