#include "db/schema.hpp"

#include "core/error.hpp"
#include "core/log.hpp"
#include "db/db.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace mbd::db {
namespace {

// core: instance-wide facts and the event log every tool writes to.
const SchemaDomain core = {
    "core",
    {
        R"sql(
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE events (
    id           INTEGER PRIMARY KEY,
    time         INTEGER NOT NULL,          -- unix seconds
    type         TEXT NOT NULL,             -- REJECTED, BUILDING, BUILT, PACKAGING, INSTALLED, FAILED, MIGRATED, REMOVED, ...
    source       TEXT,
    version      TEXT,
    distribution TEXT,
    architecture TEXT,
    message      TEXT NOT NULL,
    detail       TEXT                       -- e.g. where a rejected upload was kept
);
CREATE INDEX events_time ON events(time);
)sql",
    },
};

// keys: the instance key, uploaders and their repositories, peers' keys.
const SchemaDomain keys = {
    "keys",
    {
        R"sql(
CREATE TABLE instance_key (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    fingerprint TEXT NOT NULL,
    algorithm   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    created     INTEGER NOT NULL,
    expires     INTEGER NOT NULL DEFAULT 0,     -- 0: never
    status      TEXT NOT NULL,                  -- core/status.hpp
    check_flag  TEXT NOT NULL,
    last_check  INTEGER NOT NULL DEFAULT 0
);
)sql",
        // uploaders and the repositories each may upload to (keys/uploaders.hpp), peers'
        // keys (keys/peers.hpp); key material is in the trust sets' key rings.
        R"sql(
CREATE TABLE uploaders (
    fingerprint TEXT PRIMARY KEY,               -- primary key, 40 upper-case hex digits
    user_id     TEXT NOT NULL,
    added       INTEGER NOT NULL                -- unix seconds
);
CREATE TABLE uploader_repositories (
    fingerprint TEXT NOT NULL REFERENCES uploaders(fingerprint) ON DELETE CASCADE,
    repository  TEXT NOT NULL,                  -- repositories.id of domain repo (no foreign key)
    PRIMARY KEY (fingerprint, repository)
) WITHOUT ROWID;
CREATE TABLE peer_keys (
    fingerprint TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    added       INTEGER NOT NULL,
    active      INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1))  -- set by the remote domain
);
)sql",
    },
};

// pipeline: uploads accepted by mbd-incoming and the builds they asked for
// (requester side), and the build jobs mbd-build runs here (builder side).
const SchemaDomain pipeline = {
    "pipeline",
    {
        R"sql(
CREATE TABLE uploads (
    id           INTEGER PRIMARY KEY,
    claim        TEXT NOT NULL UNIQUE,       -- the incoming claim it came from (crash recovery)
    changes      TEXT NOT NULL,              -- file name of the uploaded .changes
    source       TEXT NOT NULL,
    version      TEXT NOT NULL,
    distribution TEXT NOT NULL,
    uploader     TEXT NOT NULL,              -- signer fingerprint
    options      TEXT NOT NULL DEFAULT '',   -- upload options, one key[arch]=value per line
    status       TEXT NOT NULL,              -- building, installed, failed
    dir          TEXT NOT NULL,              -- var/builds/upload-ID: the source files, then the results
    received     INTEGER NOT NULL,
    finished     INTEGER,
    message      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX uploads_source ON uploads(source, version);
CREATE TABLE builds (
    id           TEXT PRIMARY KEY,           -- build request id: "<upload>-<arch>"
    upload_id    INTEGER NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
    architecture TEXT NOT NULL,
    arch_all     INTEGER NOT NULL DEFAULT 0,
    status       TEXT NOT NULL,              -- queued, building, successful, failed
    builder      TEXT NOT NULL DEFAULT '',   -- fingerprint of the instance it was sent to
    queued       INTEGER NOT NULL,
    finished     INTEGER,
    seconds      REAL,
    message      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX builds_upload ON builds(upload_id);
CREATE TABLE jobs (
    id           TEXT NOT NULL,              -- the request's id
    requester    TEXT NOT NULL,              -- fingerprint of the requesting instance
    source       TEXT NOT NULL,
    version      TEXT NOT NULL,
    distribution TEXT NOT NULL,
    architecture TEXT NOT NULL,
    status       TEXT NOT NULL,              -- queued, running, successful, failed, given-back, cancelled
    queued       INTEGER NOT NULL,
    started      INTEGER,
    finished     INTEGER,
    pid          INTEGER,
    dir          TEXT NOT NULL,              -- var/builds/job-...: sources, sbuild output, log
    log          TEXT NOT NULL DEFAULT '',
    message      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (requester, id)
);
)sql",
    },
};

// chroot: build chroots, one per codename and architecture (libcommon/chroot).
const SchemaDomain chroots = {
    "chroot",
    {
        R"sql(
CREATE TABLE chroots (
    codename       TEXT NOT NULL,
    arch           TEXT NOT NULL,
    backend        TEXT NOT NULL,             -- 'unshare': mmdebstrap tarball for sbuild --chroot-mode=unshare
    mirror         TEXT NOT NULL,             -- its source: the archive URL ...
    components     TEXT NOT NULL,             -- ... the components ('main') ...
    keyring        TEXT NOT NULL,             -- ... and the keyring its Release is signed with
    size           INTEGER NOT NULL DEFAULT 0, -- the tarball as last written or checked
    mtime_ns       INTEGER NOT NULL DEFAULT 0,
    sha256         TEXT NOT NULL DEFAULT '',
    created        INTEGER NOT NULL DEFAULT 0, -- unix seconds of the bootstrap
    updated        INTEGER NOT NULL DEFAULT 0, -- unix seconds of the last bootstrap, update or import
    status         TEXT NOT NULL DEFAULT 'removed',
    check_flag     TEXT NOT NULL DEFAULT 'unchecked',
    last_check     INTEGER NOT NULL DEFAULT 0,
    check_message  TEXT NOT NULL DEFAULT '',  -- why the last check failed
    PRIMARY KEY (codename, arch)
);
)sql",
    },
};

// remote: peer instances (remote/remotes.hpp), where each of our build
// requests was routed (remote/routing.hpp), and the send state of the items
// in var/spool/outgoing/ (remote/outgoing.hpp).
const SchemaDomain remote = {
    "remote",
    {
        R"sql(
CREATE TABLE remotes (
    name            TEXT PRIMARY KEY,            -- [a-z0-9][a-z0-9-]*
    url             TEXT NOT NULL,               -- ssh://[user@]host[:port] or file:///path
    fingerprint     TEXT NOT NULL UNIQUE,        -- its instance key (peer_keys of domain keys)
    status          TEXT NOT NULL,               -- core/status.hpp
    check_flag      TEXT NOT NULL,
    last_check      INTEGER NOT NULL DEFAULT 0,
    added           INTEGER NOT NULL,
    message         TEXT NOT NULL DEFAULT '',    -- outcome of the last check
    status_document TEXT NOT NULL DEFAULT '',    -- verified content of its last status document
    status_fetched  INTEGER NOT NULL DEFAULT 0,  -- when we fetched it (unix seconds, our clock)
    status_seq      INTEGER NOT NULL DEFAULT 0   -- routes.seq when we fetched it
);
CREATE TABLE routes (
    id           TEXT PRIMARY KEY,               -- our build request's id
    source       TEXT NOT NULL,
    version      TEXT NOT NULL,
    distribution TEXT NOT NULL,
    codename     TEXT NOT NULL,
    architecture TEXT NOT NULL,
    builder      TEXT NOT NULL,                  -- 'local', a remote's name, or '' while waiting
    fingerprint  TEXT NOT NULL DEFAULT '',       -- the builder's key
    state        TEXT NOT NULL,                  -- waiting, local, outgoing, sent, returned
    seq          INTEGER NOT NULL,               -- order of routing decisions
    routed       INTEGER NOT NULL,               -- unix seconds of the last routing decision
    sent         INTEGER,
    returned     INTEGER,
    previous     TEXT NOT NULL DEFAULT '',       -- builders' keys it was re-routed away from, space-separated
    message      TEXT NOT NULL DEFAULT ''
);
CREATE TABLE route_turns (
    builder TEXT PRIMARY KEY,                    -- 'local' or a remote's name
    seq     INTEGER NOT NULL                     -- routes.seq of the last request it was given
);
CREATE TABLE outgoing (
    peer       TEXT NOT NULL,                    -- directory under var/spool/outgoing/
    item       TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_try   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (peer, item)
);
)sql",
    },
};

} // namespace

const std::vector<SchemaDomain>& schema()
{
    static const std::vector<SchemaDomain> domains = {core, keys, chroots, pipeline, remote};
    return domains;
}

namespace {

// Versions recorded in the database; empty when it has no schema yet.
std::map<std::string, long long, std::less<>> recorded_versions(Db& db)
{
    std::map<std::string, long long, std::less<>> out;
    if (!db.scalar_int("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"))
        return out;
    auto rows = db.prepare("SELECT domain, version FROM schema_version");
    while (rows.step())
        out[rows.text(0)] = rows.int64(1);
    return out;
}

// True when db needs migrating; throws when it is newer than this build.
bool needs_migration(Db& db, const std::vector<SchemaDomain>& domains)
{
    auto have = recorded_versions(db);
    bool behind = false;
    for (const auto& entry : have) {
        const std::string& name = entry.first;
        long long version = entry.second;
        auto it = std::find_if(domains.begin(), domains.end(), [&](const SchemaDomain& d) { return d.name == name; });
        if (it == domains.end())
            throw fail(Exit::state,
                       "state database '{}' has schema domain '{}', unknown to this mbd: it was written by a newer mbd",
                       db.path().string(), name);
        if (version > static_cast<long long>(it->steps.size()))
            throw fail(Exit::state,
                       "state database '{}' has schema {} version {}, newer than this mbd knows ({}); upgrade mbd",
                       db.path().string(), name, version, it->steps.size());
    }
    for (const auto& d : domains) {
        auto it = have.find(d.name);
        if ((it == have.end() ? 0 : it->second) < static_cast<long long>(d.steps.size()))
            behind = true;
    }
    return behind;
}

} // namespace

void migrate(Db& db, const std::vector<SchemaDomain>& domains)
{
    // The common case (up to date) only reads, so readers never queue behind writers.
    if (!needs_migration(db, domains))
        return;
    Transaction tx(db);
    if (!needs_migration(db, domains)) // another process migrated while we waited
        return;
    db.exec("CREATE TABLE IF NOT EXISTS schema_version (domain TEXT PRIMARY KEY, version INTEGER NOT NULL)");
    auto have = recorded_versions(db);
    for (const auto& d : domains) {
        auto it = have.find(d.name);
        long long from = it == have.end() ? 0 : it->second;
        long long want = static_cast<long long>(d.steps.size());
        for (long long v = from; v < want; ++v) {
            log::debug("db", "migrating {} to version {}", d.name, v + 1);
            db.exec(d.steps[size_t(v)]);
        }
        if (from != want)
            db.run("INSERT INTO schema_version(domain, version) VALUES(?, ?) "
                   "ON CONFLICT(domain) DO UPDATE SET version = excluded.version",
                   d.name, want);
    }
    tx.commit();
}

std::string schema_summary(const std::vector<SchemaDomain>& domains)
{
    std::string out;
    for (const auto& d : domains)
        out += fmt::format("{}{} {}", out.empty() ? "" : ", ", d.name, d.steps.size());
    return out;
}

} // namespace mbd::db
