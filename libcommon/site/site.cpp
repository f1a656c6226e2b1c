#include "site/site.hpp"

#include "archive/publish.hpp"
#include "build/failure.hpp"
#include "build/queue.hpp"
#include "chroot/chroot.hpp"
#include "core/about.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "core/names.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "deb822/deb822.hpp"
#include "debian/control_files.hpp"
#include "events/events.hpp"
#include "keys/instance.hpp"
#include "model/model.hpp"
#include "remote/remotes.hpp"
#include "repo/apt.hpp"
#include "repo/debdiff.hpp"
#include "repo/packages.hpp"
#include "site/html.hpp"
#include "site/partition.hpp"
#include "upload/process.hpp"
#include "version/version.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <optional>
#include <tuple>
#include <type_traits>
#include <set>

namespace mbd::site {

namespace fs = std::filesystem;

namespace {

constexpr int last_n = 20; // builds and events on the home page
constexpr int debdiffs_per_update = 20; // debdiff runs in one update, at most

std::string version_without_epoch(std::string_view v)
{
    auto colon = v.find(':');
    return std::string(colon == std::string_view::npos ? v : v.substr(colon + 1));
}

// "name_version_arch" (a Holding's binary) -> its .deb in the pool.
std::string deb_path(const repo::Holding& h, std::string_view binary)
{
    auto first = binary.find('_'), last = binary.rfind('_');
    if (first == std::string_view::npos || last == first)
        return {};
    return fmt::format("{}/{}_{}_{}.deb", repo::pool_directory(h.component, h.source), binary.substr(0, first),
                       version_without_epoch(binary.substr(first + 1, last - first - 1)), binary.substr(last + 1));
}

std::string time_cell(long long t) { return t ? escape(iso_time(t)) : "-"; }

std::string state_cell(std::string_view state)
{
    return fmt::format("<span class=\"{}\">{}</span>", escape(state), escape(state));
}

// The parts (site/partition) to write again: those holding a changed source, all when changed is null.
std::set<std::size_t> to_write(const std::vector<std::string>& names, const std::vector<Part>& parts,
                               const std::set<std::string>* changed)
{
    std::set<std::size_t> out;
    for (std::size_t i = 0; i < parts.size() && !changed; ++i)
        out.insert(i);
    for (const auto& source : changed ? *changed : std::set<std::string>{})
        for (auto i : parts_of(names, parts, source))
            out.insert(i);
    return out;
}

// The sources an update names for a page; std::nullopt: all of them.
using Sources = std::optional<std::set<std::string>>;

// Adds more to the sources named under key (all stay all; all makes all).
template <typename Key>
void name_sources(std::map<Key, Sources>& named, const std::type_identity_t<Key>& key, const Sources& more)
{
    auto [it, made] = named.try_emplace(key, more);
    if (made || !it->second)
        return;
    if (more)
        it->second->insert(more->begin(), more->end());
    else
        it->second.reset();
}

// Only the last part of a path: event details name where a rejected upload is kept.
std::string base_name(std::string_view path) { return fs::path(path).filename().string(); }

Json event_json(const Event& e)
{
    return Json::object()
        .set("id", e.id)
        .set("time", json_time(e.time))
        .set("type", e.type)
        .set("source", e.source)
        .set("version", e.version)
        .set("distribution", e.distribution)
        .set("architecture", e.architecture)
        .set("message", e.message);
}

class Site {
public:
    Site(Context& ctx) : ctx_(ctx), root_(site_dir(ctx.home())), now_(std::time(nullptr))
    {
        frame_.identity = ctx.config().get("identity");
        frame_.version = version();
        auto size = ctx.config().get_int("site.page_size");
        if (size < 1)
            throw fail(Exit::config, "site.page_size is {}: it must be 1 or more", size);
        page_size_ = std::size_t(size);
    }

    Report update(bool full)
    {
        make_dirs(root_);
        // HOME/var/site.state: the last event shown, the fingerprint of the key.asc written
        fs::path state = ctx_.home().var() / "site.state";
        long long after = 0;
        std::error_code ec;
        std::string state_was, cuts_was; // (written again only when they change: no fsync for nothing)
        if (!full && fs::exists(state, ec)) {
            state_was = read_file(state);
            auto lines = split(state_was, '\n');
            after = std::stoll("0" + std::string(trim(lines.at(0))));
            key_written_ = lines.size() > 1 ? std::string(trim(lines[1])) : "";
        }
        full = full || after == 0;
        fs::path cuts = ctx_.home().var() / "site.cuts";
        if (!full && fs::exists(cuts, ec))
            cuts_ = parse_cuts(cuts_was = read_file(cuts));
        key_ = keys::instance_key_record(ctx_.db());

        auto& db = ctx_.db();
        EventFilter changed;
        changed.after = after;
        changed.limit = 0;
        auto events = list_events(db, changed);
        long long last = events.empty() ? after : events.front().id;

        jobs_ = build::list_jobs(ctx_);
        uploads_ = upload::list_uploads(ctx_);
        repositories_ = repo::list_repositories(db);
        link_logs();

        home();
        uploads_page();
        rejected();
        feed();
        metrics();
        key();
        repositories_page();

        std::set<std::string> sources;
        std::map<std::string, Sources> dists; // distribution -> the sources events named in it
        for (const auto& e : events) {
            if (!e.source.empty())
                sources.insert(e.source);
            name_sources(dists, e.distribution, e.source.empty() ? Sources() : Sources({e.source}));
        }
        if (full) {
            for (const auto& h : repo::list_holdings(db, "", ""))
                sources.insert(h.source);
            for (const auto& u : uploads_)
                sources.insert(u.source);
        }
        for (const auto& r : repositories_)
            repository(r, full, dists);
        for (const auto& s : sources)
            source(s);
        lists_.insert("search");
        if (full || !sources.empty())
            search(full ? nullptr : &sources);

        if (report_.written || report_.removed) // (the pages were written without fsyncs)
            sync_filesystem(root_);
        std::erase_if(cuts_, [this](const auto& cut) { return !lists_.count(cut.first); });
        for (auto [path, was, now] : {std::tuple(cuts, cuts_was, format_cuts(cuts_)),
                                      std::tuple(state, state_was, fmt::format("{}\n{}\n", last, key_written_))})
            if (now != was)
                write_atomic(path, now);
        return report_;
    }

private:
    // Write rel (temporary file, rename; no fsync: update() syncs them all at its end) unless
    // it holds this content already.
    void put(const fs::path& rel, const std::string& content)
    {
        fs::path path = root_ / rel;
        std::error_code ec;
        auto size = fs::file_size(path, ec);
        if (!ec && size == content.size() && read_file(path) == content) {
            ++report_.unchanged;
            return;
        }
        make_dirs(path.parent_path());
        write_atomic(path, content, 0644, Durable::no);
        ++report_.written;
    }

    void put_page(const std::string& name, std::string_view title, std::string_view body, const Json& data)
    {
        Frame f = frame_;
        for (auto c : name)
            if (c == '/')
                f.root += "../";
        put(name + ".html", page(ctx_.home().etc(), f, title, body));
        put(name + ".json", data.dump() + "\n");
    }

    std::string log_link(const build::Job& j, std::string_view root) const
    {
        if (!logs_.count(j.key))
            return "-";
        return link(fmt::format("{}logs/{}.log", root, j.key), "log");
    }

    // site/logs/KEY.log: a hard link to each build's log (a copy across file systems);
    // logs of builds that are gone (retention.builds) leave with them.
    void link_logs()
    {
        fs::path dir = root_ / "logs";
        make_dirs(dir);
        for (const auto& j : jobs_) {
            std::error_code ec;
            if (j.log.empty() || !fs::is_regular_file(j.log, ec))
                continue;
            fs::path to = dir / (j.key + ".log");
            logs_.insert(j.key);
            if (fs::exists(to, ec) && fs::equivalent(to, j.log, ec))
                continue;
            fs::remove(to, ec);
            fs::create_hard_link(j.log, to, ec);
            if (ec)
                copy_atomic(j.log, to);
            ++report_.written;
        }
        for (const auto& entry : fs::directory_iterator(dir)) {
            auto name = entry.path().filename().string();
            if (name.size() > 4 && name.ends_with(".log") && !logs_.count(name.substr(0, name.size() - 4))) {
                fs::remove(entry.path());
                ++report_.removed;
            }
        }
    }

    // build's JSON of a job, without the log's path: the log's place on the site instead
    Json job_json(const build::Job& j) const
    {
        return build::to_json(j, false)
            .set("seconds", j.finished && j.started ? Json(j.finished - j.started) : Json())
            .set("log", logs_.count(j.key) ? Json("logs/" + j.key + ".log") : Json());
    }

    std::vector<std::string> job_row(const build::Job& j, std::string_view root) const
    {
        long long took = (j.finished ? j.finished : now_) - (j.started ? j.started : now_);
        return {link(fmt::format("{}sources/{}.html", root, j.source), j.source), escape(j.version),
                escape(j.distribution), escape(j.architecture), state_cell(j.status),
                j.started ? escape(duration(took)) : "-", time_cell(j.finished ? j.finished : j.queued),
                log_link(j, root), escape(j.message)};
    }

    void home()
    {
        auto& db = ctx_.db();
        Json data = Json::object();
        std::string body;

        Json instance = Json::object().set("identity", frame_.identity).set("version", frame_.version);
        const auto& key = key_;
        if (key)
            instance.set("fingerprint", key->info.fingerprint).set("key", "key.asc");
        body += fmt::format("<p>mbd {}; instance key {} ({})</p>\n", escape(frame_.version),
                            key ? escape(key->info.fingerprint) : "not made yet", key ? link("key.asc", "download") : "");
        data.set("instance", instance);

        std::vector<std::vector<std::string>> rows;
        Json chroots = Json::array();
        for (const auto& c : chroot::list(ctx_)) {
            chroots.push(Json::object()
                             .set("codename", c.codename)
                             .set("architecture", c.arch)
                             .set("status", c.status.display())
                             .set("updated", json_time(c.updated))
                             .set("last_check", json_time(c.status.last_check)));
            rows.push_back({escape(c.codename), escape(c.arch), state_cell(c.status.display()),
                            c.updated ? escape(duration(now_ - c.updated)) : "-", time_cell(c.status.last_check)});
        }
        body += "<h2>Chroots</h2>\n" + table({"codename", "arch", "status", "age", "last check"}, rows);
        data.set("chroots", chroots);

        rows.clear();
        Json remotes = Json::array();
        for (const auto& r : remote::list_remotes(ctx_)) {
            Json load = r.peer ? Json(Json::object()
                                          .set("capacity", r.peer->capacity)
                                          .set("running", r.peer->running)
                                          .set("queued", r.peer->queued))
                               : Json();
            remotes.push(Json::object()
                             .set("name", r.name)
                             .set("status", r.status.display())
                             .set("load", load)
                             .set("last_seen", json_time(r.status_fetched)));
            rows.push_back({escape(r.name), state_cell(r.status.display()),
                            r.peer ? fmt::format("{} running, {} queued of {}", r.peer->running, r.peer->queued,
                                                 r.peer->capacity)
                                   : "-",
                            time_cell(r.status_fetched), escape(r.message)});
        }
        body += "<h2>Remotes</h2>\n" + table({"name", "status", "load", "last seen", "last check"}, rows);
        data.set("remotes", remotes);

        const std::vector<std::string> job_header = {"source", "version",  "distribution", "arch",   "status",
                                                     "took",   "finished", "log",          "message"};
        rows.clear();
        Json queue = Json::array();
        std::vector<const build::Job*> done;
        for (const auto& j : jobs_) {
            if (j.status == "queued" || j.status == "running" || j.status == "waiting") {
                queue.push(job_json(j));
                rows.push_back(job_row(j, ""));
            } else {
                done.push_back(&j);
            }
        }
        body += "<h2>Build queue</h2>\n" + table(job_header, rows, "nothing queued");
        data.set("queue", queue);

        std::sort(done.begin(), done.end(), [](auto* a, auto* b) { return a->finished > b->finished; });
        rows.clear();
        Json builds = Json::array();
        for (size_t i = 0; i < done.size() && i < last_n; ++i) {
            builds.push(job_json(*done[i]));
            rows.push_back(job_row(*done[i], ""));
        }
        body += "<h2>Last builds</h2>\n" + table(job_header, rows);
        data.set("builds", builds);

        EventFilter filter;
        filter.limit = last_n;
        body += "<h2>Last events</h2>\n" + events_table(list_events(db, filter), "", data, "events");

        put_page("index", "Status", body, data);
    }

    std::string events_table(const std::vector<Event>& events, std::string_view root, Json& data, const char* key)
    {
        std::vector<std::vector<std::string>> rows;
        Json list = Json::array();
        for (const auto& e : events) {
            list.push(event_json(e));
            rows.push_back({time_cell(e.time), state_cell(e.type),
                            e.source.empty() ? "" : link(fmt::format("{}sources/{}.html", root, e.source), e.source),
                            escape(e.version), escape(e.distribution), escape(e.architecture), escape(e.message)});
        }
        data.set(key, list);
        return table({"time", "event", "source", "version", "distribution", "arch", "message"}, rows);
    }

    // lintian: each build's lintian tags beside its log (reads the logs: for a source's page)
    std::string uploads_table(const std::vector<const upload::UploadInfo*>& uploads, std::string_view root,
                              Json& list, bool lintian = false)
    {
        std::vector<std::vector<std::string>> rows;
        for (const auto* u : uploads) {
            list.push(upload::to_json(*u, false));
            std::string builds;
            for (const auto& b : u->builds) {
                auto job = std::find_if(jobs_.begin(), jobs_.end(), [&](const build::Job& j) { return j.id == b.id; });
                builds += fmt::format("{} {}{} {}", escape(b.architecture), state_cell(b.status),
                                      b.seconds > 0 ? fmt::format(" ({:.0f} s)", b.seconds) : "",
                                      job != jobs_.end() ? log_link(*job, root) : "");
                if (lintian && job != jobs_.end() && logs_.count(job->key))
                    if (auto tags = build::lintian_tags(read_file(job->log)); !tags.empty())
                        builds += " lintian: " + escape(join(tags, ", "));
                builds += "<br>";
            }
            rows.push_back({link(fmt::format("{}sources/{}.html", root, u->source), u->source), escape(u->version),
                            escape(u->distribution), state_cell(u->status), time_cell(u->received),
                            escape(u->uploader), builds, escape(u->message)});
        }
        return table({"source", "version", "distribution", "status", "received", "uploader", "builds", "message"},
                     rows);
    }

    void uploads_page()
    {
        std::vector<const upload::UploadInfo*> last;
        for (size_t i = 0; i < uploads_.size() && i < 100; ++i)
            last.push_back(&uploads_[i]);
        Json list = Json::array();
        std::string body = uploads_table(last, "", list);
        put_page("uploads", "Uploads", body, Json::object().set("uploads", list));
    }

    // Who a kept upload's .changes names (Changed-By, else Maintainer), as far as it can be read.
    static std::string changed_by(const fs::path& kept, const std::vector<std::string>& files)
    {
        for (const auto& f : files) {
            if (!f.ends_with(".changes"))
                continue;
            try {
                auto text = debian::unwrap_clearsigned_unverified(read_file_nofollow(kept / f, 1 << 20), f);
                auto p = deb822::parse_one(text, f);
                auto by = p.get("Changed-By");
                return by.empty() ? p.get("Maintainer") : by;
            } catch (const std::exception&) {
                // malformed, cut short, a link: nothing to say who sent it
            }
        }
        return {};
    }

    void rejected()
    {
        EventFilter filter;
        filter.type = "REJECTED";
        filter.limit = 100;
        std::vector<std::vector<std::string>> rows;
        Json list = Json::array();
        for (const auto& e : list_events(ctx_.db(), filter)) {
            std::vector<std::string> files;
            std::error_code ec;
            fs::path kept(e.detail);
            if (!e.detail.empty() && fs::is_directory(kept, ec))
                for (const auto& f : fs::directory_iterator(kept, ec))
                    files.push_back(f.path().filename().string());
            std::sort(files.begin(), files.end());
            Json names = Json::array();
            for (const auto& f : files)
                names.push(f);
            std::string by = changed_by(kept, files);
            list.push(event_json(e).set("kept_as", base_name(e.detail)).set("files", names).set("changed_by", by));
            rows.push_back({time_cell(e.time), escape(e.source), escape(e.version), escape(e.distribution),
                            escape(by), escape(e.message), escape(base_name(e.detail)), escape(join(files, " "))});
        }
        std::string body = "<h2>Rejected uploads</h2>\n<p>Kept with their reason in the instance's var/rejected/; "
                           "who is what the upload's .changes says (Changed-By, else Maintainer), not verified.</p>\n" +
                           table({"time", "source", "version", "distribution", "changed by", "reason", "kept as",
                                  "files"},
                                 rows);
        std::vector<const upload::UploadInfo*> failed;
        for (const auto& u : uploads_)
            if (u.status == "failed")
                failed.push_back(&u);
        Json failed_list = Json::array();
        body += "<h2>Failed uploads</h2>\n" + uploads_table(failed, "", failed_list);
        put_page("rejected", "Rejected and failed uploads", body,
                 Json::object().set("rejected", list).set("failed", failed_list));
    }

    void repositories_page()
    {
        std::vector<std::vector<std::string>> rows;
        Json list = Json::array();
        for (const auto& r : repositories_) {
            list.push(Json::object()
                          .set("id", r.id)
                          .set("layout", r.layout)
                          .set("description", r.description)
                          .set("page", "repository/" + r.id + ".html"));
            rows.push_back({link("repository/" + r.id + ".html", r.id), escape(r.layout), escape(r.description)});
        }
        put_page("repositories", "Repositories", table({"repository", "layout", "description"}, rows),
                 Json::object().set("repositories", list));
    }

    // repository/ID: how to use it and its distributions; repository/ID/DIST: what one holds.
    // A distribution's page is made when full, or when an event named its suite (a suite's
    // change moves its rollbacks along).
    void repository(const repo::Repository& r, bool full, const std::map<std::string, Sources>& named)
    {
        auto& db = ctx_.db();
        Json data = Json::object().set("id", r.id).set("layout", r.layout).set("description", r.description);
        std::string body = fmt::format("<p>{}</p>\n", escape(r.description));
        // links into the archive where it is served (publish.url); a file:// URL names the home
        std::string url = ctx_.config().get("publish.url").empty() ? "" : repo::repository_url(ctx_, r.id);
        if (!url.empty()) {
            repo::SourcesListOptions o;
            o.deb822 = true;
            std::string sources = repo::sources_list(ctx_, r.id, o);
            body += fmt::format("<h2>How to use it</h2>\n<p>The {} (for /etc/apt/keyrings/) and "
                                "/etc/apt/sources.list.d/mbd-{}-{}.sources:</p>\n<pre>{}</pre>\n",
                                link("../key.asc", "instance key"), escape(frame_.identity), escape(r.id),
                                escape(sources));
            data.set("sources", sources);
        } else {
            body += "<p>Set publish.url (the URL the archive is served under) for the apt sources to use it.</p>\n";
        }
        if (!ctx_.config().get("access.host").empty()) {
            repo::DputOptions o;
            o.keys = false;
            std::string dput = repo::dput_conf(ctx_, o);
            body += fmt::format("<h2>Uploading</h2>\n<p>For ~/.dput.cf: dput's scp method through this instance's ssh "
                                "gateway, with an ssh key its admin gave the role uploader (mbd-keygen access), and the "
                                "upload signed by a GnuPG key allowed to upload here.</p>\n<pre>{}</pre>\n",
                                escape(dput));
            data.set("dput", dput);
        }
        auto all = repo::repository_dists(db, r.id);
        // codename, suite -> the sources named in it or its rollbacks
        std::map<std::pair<std::string, std::string>, Sources> changed;
        for (const auto& d : all)
            if (auto it = named.find(d.name); it != named.end())
                name_sources(changed, {d.codename, d.suite}, it->second);
        std::vector<std::vector<std::string>> rows;
        Json dists = Json::array();
        for (const auto& d : all) {
            std::string page = r.id + "/" + d.name;
            lists_.insert("repository/" + page);
            dists.push(Json::object()
                           .set("name", d.name)
                           .set("suite", d.suite)
                           .set("rollback", d.rollback)
                           .set("page", "repository/" + page + ".html"));
            rows.push_back({link(page + ".html", d.name), escape(d.suite), d.rollback ? std::to_string(d.rollback) : ""});
            if (full)
                distribution(r, d, url, nullptr);
            else if (auto it = changed.find({d.codename, d.suite}); it != changed.end())
                distribution(r, d, url, it->second ? &*it->second : nullptr);
        }
        body += "<h2>Distributions</h2>\n" + table({"distribution", "suite", "rollback"}, rows);
        std::set<std::string> names;
        for (const auto& d : all)
            names.insert(d.name);
        remove_retired(r.id, names);
        EventFilter filter;
        filter.limit = 500;
        std::vector<Event> mine;
        for (auto& e : list_events(db, filter))
            if (names.count(e.distribution) && mine.size() < 50)
                mine.push_back(std::move(e));
        atom("repository/" + r.id + ".atom", "repository " + r.id, mine);
        body += "<p>" + link(r.id + ".atom", "Events of this repository (Atom feed)") + "</p>\n";
        data.set("distributions", dists);
        put_page("repository/" + r.id, "Repository " + r.id, body, data);
    }

    // repository/ID/DIST: what a distribution holds. Past site.page_size sources it is an
    // index of pages repository/ID/DIST/KEY (site/partition), of which only those that hold
    // a changed source are made again (all when changed is null, or when the cut moved).
    void distribution(const repo::Repository& r, const repo::DistRef& d, const std::string& url,
                      const std::set<std::string>* changed)
    {
        auto& db = ctx_.db();
        std::string name = "repository/" + r.id + "/" + d.name;
        std::string about = fmt::format("<p>Repository {}, suite {}{}.</p>\n", link("../" + r.id + ".html", r.id),
                                        escape(d.suite), d.rollback ? fmt::format(", rollback {}", d.rollback) : "");
        Json data = Json::object()
                        .set("repository", r.id)
                        .set("distribution", d.name)
                        .set("suite", d.suite)
                        .set("rollback", d.rollback);
        auto [cut, todo] = plan(name, d.name, changed, [](const Cut& c) {
            std::set<std::string> keys;
            for (const auto& p : c.pages)
                keys.insert(p.key);
            return c.pages.size() > 1 ? keys : std::set<std::string>{};
        });
        if (cut.pages.size() <= 1) {
            put_page(name, d.name, about + holdings_table(repo::list_holdings(db, r.id, d.name), "../../", url, data),
                     data);
            return;
        }
        std::vector<std::vector<std::string>> rows;
        Json pages = Json::array();
        std::size_t total = 0;
        for (std::size_t i = 0; i < cut.pages.size(); ++i) {
            const auto& [key, first, last, count] = cut.pages[i];
            std::string page = name + "/" + key;
            total += count;
            pages.push(Json::object()
                           .set("prefix", key)
                           .set("first", first)
                           .set("last", last)
                           .set("sources", count)
                           .set("page", page + ".html"));
            rows.push_back({link(d.name + "/" + key + ".html", key + "…"), escape(first), escape(last),
                            std::to_string(count)});
            if (!todo.count(i))
                continue;
            Json part = data;
            part.set("prefix", key);
            std::string body = fmt::format("<p>{} of {}: sources {} to {}.</p>\n", escape(key + "…"),
                                           link("../" + d.name + ".html", d.name), escape(first), escape(last));
            body += holdings_table(repo::list_holdings(db, r.id, d.name, first, last), "../../../", url, part);
            put_page(page, d.name + " " + key + "…", body, part);
        }
        std::string body = about + fmt::format("<p>{} sources, on pages by the start of their names:</p>\n", total) +
                           table({"page", "first", "last", "sources"}, rows);
        put_page(name, d.name, body, Json(data).set("sources", total).set("pages", pages));
    }

    // The table of what a distribution holds (its JSON into data's "holds"); root: the site
    // root relative to the page.
    std::string holdings_table(const std::vector<repo::Holding>& holdings, const std::string& root,
                               const std::string& url, Json& data)
    {
        std::vector<std::vector<std::string>> rows;
        Json held = Json::array();
        for (const auto& h : holdings) {
            std::string bins;
            for (const auto& b : h.binaries)
                bins += (url.empty() ? escape(b) : link(fmt::format("{}/{}", url, deb_path(h, b)), b)) + " ";
            std::string dsc = fmt::format("{}/{}_{}.dsc", repo::pool_directory(h.component, h.source), h.source,
                                          version_without_epoch(h.version));
            rows.push_back({link(root + "sources/" + h.source + ".html", h.source), escape(h.version),
                            url.empty() ? escape(fs::path(dsc).filename().string()) : link(url + "/" + dsc, ".dsc"),
                            bins, time_cell(h.since)});
            held.push(repo::to_json(h));
        }
        data.set("holds", held);
        return table({"source", "version", "source package", "binaries", "since"}, rows, "empty");
    }

    // The cut of a paged list, named by its pages' directory (a distribution's sources, every
    // source for dist ""), and the pages of it to write again (those holding a changed source;
    // all when changed is null). The kept cut (cuts_[list]) serves while every changed source
    // stays on a page of it that neither empties nor outgrows the page size and the list's
    // files are its pages (files(cut)): one range count per changed page. Else the cut is made
    // anew from all the names, and pages of an old cut are removed (all written when it moved).
    template <typename Files>
    std::pair<Cut, std::set<std::size_t>> plan(const std::string& list, std::string_view dist,
                                               const std::set<std::string>* changed, Files files)
    {
        auto& db = ctx_.db();
        if (auto kept = cuts_.find(list); changed && kept != cuts_.end() && kept->second.size == page_size_) {
            Cut cut = kept->second;
            std::set<std::size_t> todo;
            bool holds = true;
            for (auto s = changed->begin(); s != changed->end() && holds; ++s) {
                auto i = page_of(cut, *s);
                holds = i.has_value();
                if (!holds || !todo.insert(*i).second)
                    continue;
                auto [low, high] = page_range(cut, *i);
                auto range = repo::source_range(db, dist, low, high);
                holds = range.count > 0 && range.count <= page_size_;
                cut.pages[*i] = {cut.pages[*i].key, range.first, range.last, range.count};
            }
            if (holds && stems(list) == files(cut)) {
                kept->second = cut;
                return {cut, todo};
            }
        }
        auto names = repo::source_names(db, dist);
        auto parts = partition(names, page_size_);
        Cut cut = make_cut(names, parts, page_size_);
        bool moved = remove_pages_but(list, files(cut));
        cuts_[list] = cut;
        return {cut, to_write(names, parts, moved ? nullptr : changed)};
    }

    // The names of dir's files without their extensions.
    std::set<std::string> stems(const std::string& dir) const
    {
        std::set<std::string> out;
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(root_ / dir, ec)) {
            auto file = entry.path().filename().string();
            out.insert(file.substr(0, file.rfind('.')));
        }
        return out;
    }

    // The pages (and page directories) of distributions a repository no longer has (a
    // codename retired: mbd-repo repository set --remove-dist).
    void remove_retired(const std::string& id, const std::set<std::string>& dists)
    {
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(root_ / "repository" / id, ec)) {
            auto file = entry.path().filename().string();
            auto stem = file.ends_with(".html") || file.ends_with(".json") ? file.substr(0, file.size() - 5) : file;
            if (!dists.count(stem)) {
                fs::remove_all(entry.path(), ec);
                ++report_.removed;
            }
        }
    }

    // Removes the pages under DIR (NAME.html and NAME.json) whose NAME is not in keep; true
    // when keep is not what was there.
    bool remove_pages_but(const std::string& dir, const std::set<std::string>& keep)
    {
        std::set<std::string> had;
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(root_ / dir, ec)) {
            auto file = entry.path().filename().string();
            auto dot = file.rfind('.');
            std::string stem = file.substr(0, dot);
            had.insert(stem);
            if (!keep.count(stem)) {
                fs::remove(entry.path());
                ++report_.removed;
            }
        }
        if (keep.empty())
            fs::remove(root_ / dir, ec);
        return had != keep;
    }

    void source(const std::string& name)
    {
        if (!names::problem(names::package, name).has_value()) {
            auto& db = ctx_.db();
            Json data = Json::object().set("source", name);
            std::vector<std::vector<std::string>> rows;
            Json held = Json::array();
            std::vector<repo::Holding> holdings;
            try {
                holdings = repo::show_source(db, name, "");
            } catch (const Error& e) {
                if (e.code() != Exit::not_found) // no distribution holds it (yet, or any more)
                    throw;
            }
            for (const auto& h : holdings) {
                held.push(repo::to_json(h));
                rows.push_back({escape(h.dist), escape(h.version), escape(join(h.binaries, " ")), time_cell(h.since)});
            }
            data.set("versions", held);
            std::string body = "<h2>Versions</h2>\n" + table({"distribution", "version", "binaries", "since"}, rows);
            body += upgrades(name, holdings, data);

            std::vector<const upload::UploadInfo*> mine;
            for (const auto& u : uploads_)
                if (u.source == name)
                    mine.push_back(&u);
            Json list = Json::array();
            body += "<h2>Uploads</h2>\n" + uploads_table(mine, "../", list, true);
            data.set("uploads", list);
            if (std::string text = changes_of(mine); !text.empty()) {
                body += fmt::format("<h2>Changes of {}</h2>\n<pre>{}</pre>\n", escape(mine.front()->version),
                                    escape(text));
                data.set("changes", text);
            }

            EventFilter filter;
            filter.source = name;
            filter.limit = 100;
            auto events = list_events(db, filter);
            body += "<h2>Events</h2>\n<p>" + link(name + ".atom", "feed") + "</p>\n" +
                    events_table(events, "../", data, "events");
            atom("sources/" + name + ".atom", "source " + name, events);
            put_page("sources/" + name, "Source " + name, body, data);
        }
    }

    // The upgrades among the versions a repository holds (each to the next higher), linked to
    // devscripts' debdiff of the two source packages: sources/NAME/REPO_FROM_TO.debdiff,
    // made once (two versions' files never change), at most debdiffs_per_update per update
    // (those left when the page is made again). Without debdiff, or when it fails: not linked.
    std::string upgrades(const std::string& name, const std::vector<repo::Holding>& holdings, Json& data)
    {
        std::map<std::string, std::vector<std::string>> versions; // repository -> its versions
        for (const auto& h : holdings)
            versions[repo::find_dist(ctx_.db(), h.dist).repository].push_back(h.version);
        std::vector<std::vector<std::string>> rows;
        Json list = Json::array();
        for (auto& [repository, vs] : versions) {
            std::sort(vs.begin(), vs.end(),
                      [](const auto& a, const auto& b) { return compare(Version::parse(a), Version::parse(b)) < 0; });
            vs.erase(std::unique(vs.begin(), vs.end()), vs.end());
            for (std::size_t i = 1; i < vs.size(); ++i) {
                std::string file = fmt::format("{}_{}_{}.debdiff", repository, version_without_epoch(vs[i - 1]),
                                               version_without_epoch(vs[i]));
                if (!made_debdiff(name, repository, vs[i - 1], vs[i], root_ / "sources" / name / file))
                    continue;
                rows.push_back({escape(repository), escape(vs[i - 1]), escape(vs[i]), link(name + "/" + file, "debdiff")});
                list.push(Json::object()
                              .set("repository", repository)
                              .set("from", vs[i - 1])
                              .set("to", vs[i])
                              .set("debdiff", "sources/" + name + "/" + file));
            }
        }
        data.set("upgrades", list);
        return rows.empty() ? "" : "<h2>Upgrades</h2>\n" + table({"repository", "from", "to", "changes"}, rows);
    }

    bool made_debdiff(const std::string& source, const std::string& repository, const std::string& from,
                      const std::string& to, const fs::path& path)
    {
        std::error_code ec;
        if (fs::is_regular_file(path, ec))
            return true;
        if (debdiffs_made_ >= debdiffs_per_update || find_program("debdiff").empty())
            return false;
        ++debdiffs_made_;
        try {
            auto r = repo::debdiff(ctx_, {.source = source, .repository = repository, .versions = {from, to}});
            make_dirs(path.parent_path());
            write_atomic(path, r.output, 0644, Durable::no);
            ++report_.written;
            return true;
        } catch (const Error& e) {
            log::warning("site", "debdiff of {} {} and {}: {}", source, from, to, e.what());
            return false;
        }
    }

    // The changelog entry of the newest of these uploads (its .changes' Changes field), while
    // its directory is kept (retention.builds).
    static std::string changes_of(const std::vector<const upload::UploadInfo*>& uploads)
    {
        if (uploads.empty() || uploads.front()->dir.empty())
            return {};
        const auto& u = *uploads.front();
        std::error_code ec;
        fs::path file = fs::path(u.dir) / u.changes;
        if (names::problem(names::file, u.changes).has_value() || !fs::is_regular_file(file, ec))
            return {};
        auto text = debian::unwrap_clearsigned_unverified(read_file(file), u.changes);
        return debian::Changes::parse(text, u.changes).changes_text;
    }

    // search-index.json lists the index's parts (site/partition: search/KEY.json), each the
    // sources of one name prefix with their binaries; only the parts holding a changed source
    // are made again (all when changed is null, or when the cut moved).
    void search(const std::set<std::string>* changed)
    {
        auto& db = ctx_.db();
        // (a short list: one part, "all")
        auto file_key = [](const Page& p) { return p.key.empty() ? std::string("all") : p.key; };
        auto [cut, todo] = plan("search", "", changed, [&file_key](const Cut& c) {
            std::set<std::string> keys;
            for (const auto& p : c.pages)
                keys.insert(file_key(p));
            return keys;
        });
        std::vector<std::string> files;
        Json list = Json::array();
        for (const auto& p : cut.pages) {
            files.push_back("search/" + file_key(p) + ".json");
            list.push(Json::object().set("prefix", p.key).set("first", p.first).set("last", p.last).set("file", files.back()));
        }
        for (auto i : todo) {
            const auto& p = cut.pages[i];
            std::map<std::string, std::set<std::string>> binaries;
            for (const auto& h : repo::list_holdings(db, "", "", p.first, p.last))
                for (const auto& b : h.binaries)
                    binaries[h.source].insert(b.substr(0, b.find('_')));
            Json index = Json::array();
            for (const auto& [source, bins] : binaries) {
                Json bin_names = Json::array();
                for (const auto& b : bins)
                    bin_names.push(b);
                index.push(Json::object().set("source", source).set("binaries", bin_names));
            }
            put(files[i], index.dump(false) + "\n");
        }
        put("search-index.json", Json::object().set("parts", list).dump(false) + "\n");
        std::string body = R"(<form action="search.html"><input id="q" name="q" placeholder="source or binary name" autofocus>
<button>search</button></form>
<ul id="results"></ul>
<noscript><p>Searching needs JavaScript; without it, see search-index.json or the repositories' pages.</p></noscript>
<script>
const q = new URLSearchParams(location.search).get("q") || "";
document.getElementById("q").value = q;
if (q) fetch("search-index.json").then(r => r.json())
  .then(index => Promise.all(index.parts.map(p => fetch(p.file).then(r => r.json()))))
  .then(parts => {
  const ul = document.getElementById("results");
  for (const e of parts.flat()) {
    if (!e.source.includes(q) && !e.binaries.some(b => b.includes(q))) continue;
    const li = document.createElement("li"), a = document.createElement("a");
    a.href = "sources/" + encodeURIComponent(e.source) + ".html";
    a.textContent = e.source;
    li.append(a, " " + e.binaries.join(" "));
    ul.append(li);
  }
  if (!ul.children.length) ul.textContent = "nothing found";
});
</script>
)";
        put_page("search", "Search", body, Json::object().set("index", "search-index.json"));
    }

    void feed()
    {
        EventFilter filter;
        filter.limit = 50;
        atom("feed.atom", frame_.identity + " events", list_events(ctx_.db(), filter));
    }

    // An Atom feed of events at rel (its links relative to where it lies).
    void atom(const std::string& rel, const std::string& title, const std::vector<Event>& events)
    {
        std::string root, id = "urn:mbd:" + frame_.identity;
        for (auto c : rel)
            if (c == '/')
                root += "../";
        std::string out = fmt::format("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
                                      "<feed xmlns=\"http://www.w3.org/2005/Atom\">\n<title>{}</title>\n"
                                      "<id>{}:{}</id>\n<updated>{}</updated>\n<author><name>{}</name></author>\n"
                                      "<link href=\"{}index.html\"/>\n",
                                      escape(title), escape(id), escape(rel),
                                      iso_time(events.empty() ? 0 : events.front().time), escape(frame_.identity),
                                      escape(root));
        for (const auto& e : events)
            out += fmt::format("<entry><id>{}:event:{}</id><title>{}</title><updated>{}</updated>{}"
                               "<content type=\"text\">{}</content></entry>\n",
                               escape(id), e.id, escape(e.type + " " + e.source + " " + e.version), iso_time(e.time),
                               e.source.empty() ? ""
                                                : fmt::format("<link href=\"{}sources/{}.html\"/>", escape(root),
                                                              escape(e.source)),
                               escape(describe(e)));
        put(rel, out + "</feed>\n");
    }

    void metrics()
    {
        std::map<std::string, int> by_status;
        for (const auto& j : jobs_)
            ++by_status[j.status];
        std::string out = "# HELP mbd_builds Builds run here, by status.\n# TYPE mbd_builds gauge\n";
        for (const auto& [status, n] : by_status)
            out += fmt::format("mbd_builds{{status=\"{}\"}} {}\n", status, n);
        out += fmt::format("# HELP mbd_build_queue Builds queued or running.\n# TYPE mbd_build_queue gauge\n"
                           "mbd_build_queue {}\n",
                           by_status["queued"] + by_status["running"] + by_status["waiting"]);
        out += "# HELP mbd_build_seconds Duration of the last finished build, by architecture.\n"
               "# TYPE mbd_build_seconds gauge\n";
        std::map<std::string, long long> last_took, last_end;
        for (const auto& j : jobs_)
            if (j.finished && j.started && j.finished >= last_end[j.architecture]) {
                last_end[j.architecture] = j.finished;
                last_took[j.architecture] = j.finished - j.started;
            }
        for (const auto& [arch, s] : last_took)
            out += fmt::format("mbd_build_seconds{{architecture=\"{}\"}} {}\n", arch, s);
        out += "# HELP mbd_chroot_age_seconds Time since each chroot was made or updated.\n"
               "# TYPE mbd_chroot_age_seconds gauge\n";
        for (const auto& c : chroot::list(ctx_))
            if (c.updated)
                out += fmt::format("mbd_chroot_age_seconds{{codename=\"{}\",architecture=\"{}\"}} {}\n", c.codename,
                                   c.arch, now_ - c.updated);
        EventFilter filter;
        filter.type = "INSTALLED";
        filter.limit = 1;
        auto installed = list_events(ctx_.db(), filter);
        out += fmt::format("# HELP mbd_last_install_timestamp_seconds When a package was last installed.\n"
                           "# TYPE mbd_last_install_timestamp_seconds gauge\n"
                           "mbd_last_install_timestamp_seconds {}\n",
                           installed.empty() ? 0 : installed.front().time);
        auto published = archive::publish_times(ctx_.db());
        out += "# HELP mbd_last_publish_timestamp_seconds When each distribution was last published.\n"
               "# TYPE mbd_last_publish_timestamp_seconds gauge\n";
        for (const auto& p : published)
            out += fmt::format("mbd_last_publish_timestamp_seconds{{distribution=\"{}\"}} {}\n", p.dist, p.published);
        out += "# HELP mbd_publish_seconds How long the last publish of each distribution took.\n"
               "# TYPE mbd_publish_seconds gauge\n";
        for (const auto& p : published)
            out += fmt::format("mbd_publish_seconds{{distribution=\"{}\"}} {:.3f}\n", p.dist, double(p.took_ms) / 1000);
        put("metrics.prom", out);
    }

    // key.asc: exported again only when the key is not the one it was written for (gpg is slow to start)
    void key()
    {
        std::error_code ec;
        if (!key_ || (key_->info.fingerprint == key_written_ && fs::exists(root_ / "key.asc", ec)))
            return;
        put("key.asc", keys::instance_public_key(ctx_));
        key_written_ = key_->info.fingerprint;
    }

    Context& ctx_;
    fs::path root_;
    long long now_;
    Frame frame_;
    Report report_;
    std::vector<build::Job> jobs_;
    std::vector<upload::UploadInfo> uploads_;
    std::vector<repo::Repository> repositories_;
    std::set<std::string> logs_; // job keys with a log in site/logs/
    std::map<std::string, Cut> cuts_; // HOME/var/site.cuts: the cuts of the paged lists
    std::set<std::string> lists_;     // the paged lists there are (what cuts_ keeps)
    std::size_t page_size_ = 500;
    int debdiffs_made_ = 0;
    std::optional<keys::InstanceKey> key_; // as recorded
    std::string key_written_;              // the fingerprint of key.asc
};

} // namespace

fs::path site_dir(const Home& home) { return home.root / "site"; }

Report update(Context& ctx, bool full)
{
    make_dirs(ctx.home().locks());
    FileLock lock(ctx.home().locks() / "site.lock", true);
    return Site(ctx).update(full);
}

void refresh(Context& ctx) noexcept
{
    try {
        if (ctx.config().get_bool("site.enabled"))
            update(ctx);
    } catch (const std::exception& e) {
        log::warning("the status site was not brought up to date: {}", e.what());
    }
}

} // namespace mbd::site
