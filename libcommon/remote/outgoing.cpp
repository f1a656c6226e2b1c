#include "remote/outgoing.hpp"

#include "build/queue.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/strings.hpp"
#include "core/wake.hpp"
#include "db/db.hpp"
#include "keys/instance.hpp"
#include "remote/remotes.hpp"
#include "remote/routing.hpp"
#include "remote/status.hpp"
#include "remote/transport.hpp"

#include <algorithm>
#include <chrono>
#include <set>
#include <sys/stat.h>

namespace mbd::remote {
namespace {

namespace fs = std::filesystem;

// Visible subdirectories of dir, by name.
std::vector<fs::path> subdirs(const fs::path& dir)
{
    std::vector<fs::path> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.is_directory() && !e.is_symlink() && !e.path().filename().string().starts_with("."))
            out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

long long age_of(const fs::path& p, long long now)
{
    struct stat st{};
    return ::lstat(p.c_str(), &st) == 0 ? now - st.st_mtim.tv_sec : 0;
}

struct Item {
    fs::path dir;
    std::string peer, name;
    fs::path document;          // empty: not complete yet
    std::vector<fs::path> data; // the other files, sorted
    bool request() const { return document.filename().string().ends_with(request_suffix); }
};

Item read_item(const fs::path& dir)
{
    Item item{dir, dir.parent_path().filename().string(), dir.filename().string(), {}, {}};
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        auto n = e.path().filename().string();
        if (n.starts_with(".") || !e.is_regular_file() || e.is_symlink())
            continue;
        if (n.ends_with(request_suffix) || n.ends_with(result_suffix))
            item.document = e.path();
        else
            item.data.push_back(e.path());
    }
    std::sort(item.data.begin(), item.data.end());
    return item;
}

struct SendState {
    long long attempts = 0, next_try = 0;
};

SendState send_state(db::Db& db, const Item& item, long long now)
{
    db::Transaction tx(db);
    db.run("INSERT INTO outgoing(peer, item, first_seen) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", item.peer,
           item.name, now);
    SendState s;
    {
        auto q = db.query("SELECT attempts, next_try FROM outgoing WHERE peer = ? AND item = ?", item.peer, item.name);
        if (q.step())
            s = {q.int64(0), q.int64(1)};
    }
    tx.commit();
    return s;
}

class Pass {
public:
    explicit Pass(Context& ctx)
        : ctx_(ctx), home_(ctx.home()), me_(keys::require_instance_key(ctx).info.fingerprint), now_(now_seconds())
    {
        const auto& c = ctx.config();
        retry_ = std::max(1LL, c.get_int("remote.retry"));
        retry_max_ = std::max(retry_, c.get_int("remote.retry_max"));
        reroute_timeout_ = c.get_int("remote.reroute_timeout");
        result_timeout_ = c.get_int("remote.result_timeout");
    }

    RunReport run()
    {
        reroute_unanswered();
        route_waiting();
        // items re-routed to another peer are sent in the same pass
        std::set<fs::path> seen;
        for (bool more = true; more;) {
            more = false;
            wake::lower(home_, wake::Pass::outgoing); // raised again by whoever queues an item after this
            for (const auto& peer : subdirs(home_.spool_outgoing()))
                for (const auto& dir : subdirs(peer))
                    if (seen.insert(dir).second) {
                        more = true;
                        outgoing(read_item(dir));
                    }
        }
        forget_gone_items();
        report_.waiting = int(subdirs(waiting_dir(home_)).size());
        return report_;
    }

private:
    std::string key_of(const std::string& id) const { return build::request_key(me_, id); }
    std::string id_of(const std::string& key) const
    {
        auto prefix = me_.substr(0, 16) + "-";
        return key.starts_with(prefix) ? key.substr(prefix.size()) : std::string();
    }

    // Send states of items that were sent or moved elsewhere.
    void forget_gone_items()
    {
        auto& db = ctx_.db();
        std::vector<std::pair<std::string, std::string>> gone;
        {
            auto q = db.query("SELECT peer, item FROM outgoing");
            std::error_code ec;
            while (q.step())
                if (!fs::exists(home_.spool_outgoing() / q.text(0) / q.text(1), ec))
                    gone.emplace_back(q.text(0), q.text(1));
        }
        db::Transaction tx(db);
        for (const auto& [peer, item] : gone)
            db.run("DELETE FROM outgoing WHERE peer = ? AND item = ?", peer, item);
        tx.commit();
    }

    void reroute_unanswered()
    {
        for (const auto& r : list_routes(ctx_)) {
            auto item = sent_dir(home_) / key_of(r.id);
            std::error_code ec;
            if (r.state != "sent" || r.sent + result_timeout_ > now_ || !fs::exists(item, ec))
                continue;
            auto why = fmt::format("no result from '{}' {} s after it took the request", r.builder, now_ - r.sent);
            if (reroute(ctx_, r, item, {r.fingerprint}, why, false))
                ++report_.rerouted;
            else
                log::notice("build request {}: {}, and no other builder can take it", r.id, why);
        }
        // copies of requests whose result came, or that moved on
        for (const auto& item : subdirs(sent_dir(home_))) {
            auto route = find_route(ctx_, id_of(item.filename().string()));
            if (route && route->state != "sent")
                settle_item(ctx_, *route, item);
        }
    }

    void route_waiting()
    {
        for (const auto& item : subdirs(waiting_dir(home_))) {
            auto route = find_route(ctx_, id_of(item.filename().string()));
            if (!route) {
                log::warning("'{}' waits without a route; it is left there", item.string());
                continue;
            }
            if (route->state != "waiting")
                settle_item(ctx_, *route, item);
            else if (reroute(ctx_, *route, item, {}, {}, false))
                ++report_.rerouted;
        }
    }

    std::optional<Remote> remote_for(const std::string& peer)
    {
        if (peer.starts_with("unknown-"))
            return find_remote_by_fingerprint(ctx_, peer.substr(8));
        try {
            return get_remote(ctx_, peer);
        } catch (const Error& e) {
            if (e.code() != Exit::not_found)
                throw;
            return std::nullopt;
        }
    }

    void outgoing(const Item& item)
    {
        if (item.document.empty()) {
            // a result mbd-build has not delivered (yet, or ever: its build died)
            long long limit = ctx_.config().get_int("build.timeout") + 3600;
            std::error_code ec;
            if (item.data.empty() && age_of(item.dir, now_) > limit && fs::is_empty(item.dir, ec))
                fs::remove(item.dir, ec);
            return;
        }
        auto remote = remote_for(item.peer);
        std::optional<Route> route;
        if (item.request()) {
            route = find_route(ctx_, id_of(item.name));
            if (!route) {
                log::warning("'{}' is no build request of ours; it is left there", item.dir.string());
                return;
            }
            if (route->state != "outgoing" || route->builder != item.peer)
                return settle_item(ctx_, *route, item.dir);
            if (!remote || remote->status.status != Status::active) {
                auto why = remote ? fmt::format("remote '{}' is {}", item.peer, remote->status.display())
                                  : fmt::format("remote '{}' was removed", item.peer);
                if (reroute(ctx_, *route, item.dir, {route->fingerprint}, why, true))
                    ++report_.rerouted;
                return;
            }
        }
        auto& db = ctx_.db();
        auto state = send_state(db, item, now_);
        std::string error;
        if (now_ >= state.next_try) {
            if (!remote) {
                error = item.peer.starts_with("unknown-") ? fmt::format("no remote has key {}", item.peer.substr(8))
                                                          : fmt::format("there is no remote '{}'", item.peer);
            } else {
                try {
                    send(*remote, item);
                    return;
                } catch (const Error& e) {
                    error = e.what();
                }
            }
            ++state.attempts;
            long long wait = retry_max_;
            if (state.attempts <= 30)
                wait = std::min(retry_max_, retry_ << (state.attempts - 1));
            db::Transaction tx(db);
            db.run("UPDATE outgoing SET attempts = ?, next_try = ?, last_error = ? WHERE peer = ? AND item = ?",
                   state.attempts, now_ + wait, error, item.peer, item.name);
            tx.commit();
            ++report_.failed;
            log::warning("cannot send '{}' to '{}' (attempt {}, next in {} s): {}", item.name, item.peer,
                         state.attempts, wait, error);
        }
        if (route && state.attempts > 0 && route->routed + reroute_timeout_ <= now_) {
            auto why = fmt::format("'{}' did not take it for {} s", item.peer, now_ - route->routed);
            if (reroute(ctx_, *route, item.dir, {route->fingerprint}, why, false))
                ++report_.rerouted;
        }
    }

    void send(const Remote& remote, const Item& item)
    {
        auto files = item.data;
        files.push_back(item.document);
        std::uintmax_t bytes = 0;
        for (const auto& f : files)
            bytes += fs::file_size(f);
        auto start = std::chrono::steady_clock::now();
        open_transport(ctx_, parse_url(remote.url))->put(files);
        double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        auto& db = ctx_.db();
        {
            db::Transaction tx(db);
            db.run("DELETE FROM outgoing WHERE peer = ? AND item = ?", item.peer, item.name);
            if (item.request())
                db.run("UPDATE routes SET state = 'sent', sent = ? WHERE id = ? AND state = 'outgoing'", now_,
                       id_of(item.name));
            tx.commit();
        }
        std::error_code ec;
        if (item.request())
            settle_item(ctx_, *find_route(ctx_, id_of(item.name)), item.dir);
        else
            fs::remove_all(item.dir, ec);
        ++report_.sent;
        log::info("sent {} to '{}' ({} files, {} bytes) in {:.3f} s", item.document.filename().string(), remote.name,
                  files.size(), bytes, seconds);
    }

    Context& ctx_;
    const Home home_;
    std::string me_;
    long long now_;
    long long retry_ = 60, retry_max_ = 3600, reroute_timeout_ = 3600, result_timeout_ = 28800;
    RunReport report_;
};

} // namespace

RunReport run_pass(Context& ctx)
{
    if (!keys::find_instance_key(ctx)) {
        // not set up yet: no peers, nothing to send. The flag goes down too, or its
        // path unit would start the pass again and again until systemd gives up on it.
        wake::lower(ctx.home(), wake::Pass::outgoing);
        log::notice("the instance has no key yet ('mbd-keygen init'): nothing to send");
        return {};
    }
    make_dirs(ctx.home().locks());
    FileLock lock(ctx.home().locks() / "remote-run.lock", true);
    publish_status(ctx);
    return Pass(ctx).run();
}

} // namespace mbd::remote
