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
        // a source's events and those of one type (pages of the status site, events --source, --type)
        // without a scan of them all
        R"sql(
CREATE INDEX events_source ON events(source, id);
CREATE INDEX events_type ON events(type, id);
)sql",
        // who is told about which events by mail (events/subscriptions.hpp), and the mails
        // not delivered yet (each tried again by the next command until sendmail takes it)
        R"sql(
CREATE TABLE subscriptions (
    id           INTEGER PRIMARY KEY,
    address      TEXT NOT NULL,
    source       TEXT NOT NULL DEFAULT '',  -- '': every source
    repository   TEXT NOT NULL DEFAULT '',  -- '': every repository
    events       TEXT NOT NULL,             -- space-separated event types
    created      INTEGER NOT NULL,
    UNIQUE (address, source, repository)
);
CREATE TABLE mail_outbox (
    id           INTEGER PRIMARY KEY,
    event_id     INTEGER NOT NULL,
    address      TEXT NOT NULL,
    subject      TEXT NOT NULL,
    body         TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT '',
    UNIQUE (event_id, address)
);
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
        // ssh keys of people and machines that reach the instance through the gateway (keys/access.hpp)
        R"sql(
CREATE TABLE access_keys (
    name        TEXT PRIMARY KEY,
    role        TEXT NOT NULL CHECK (role IN ('reader', 'uploader', 'admin')),
    key         TEXT NOT NULL,                  -- "TYPE BASE64"
    fingerprint TEXT NOT NULL UNIQUE,           -- "SHA256:..."
    uploaders   TEXT NOT NULL DEFAULT '',       -- GnuPG fingerprints (space-separated) of its own uploads
    added       INTEGER NOT NULL
);
)sql",
        // a key rotation (keys/instance.hpp): the next instance key, which signs archives beside
        // the instance key until switch_at, then replaces it
        R"sql(
CREATE TABLE instance_key_next (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    fingerprint TEXT NOT NULL,
    created     INTEGER NOT NULL,
    switch_at   INTEGER NOT NULL
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
    repository   TEXT NOT NULL,
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

// repo: sources, layouts, distributions, repositories (configuration), the package
// index (pool files, source and binary packages, distribution memberships) and the
// publishing state (journal of membership changes, chunk tables of published indices).
const SchemaDomain repo = {
    "repo",
    {
        R"sql(
CREATE TABLE sources (
    name          TEXT PRIMARY KEY,             -- 'debian-bookworm'
    origin        TEXT NOT NULL,                -- the Release must say Origin: this
    codename      TEXT NOT NULL,                -- ... and Codename: this
    suite         TEXT NOT NULL,                -- fetched from dists/SUITE (usually the codename)
    uris          TEXT NOT NULL,                -- space-separated archive URLs
    identifiers   TEXT NOT NULL DEFAULT '',     -- extra 'Field=value' lines the Release must match
    codeversion   TEXT NOT NULL DEFAULT '',     -- '12' for bookworm (version rule); from Release 'Version'
    components    TEXT NOT NULL DEFAULT '',     -- recorded by check
    architectures TEXT NOT NULL DEFAULT '',     -- recorded by check
    release_date  TEXT NOT NULL DEFAULT '',     -- recorded by check
    status        TEXT NOT NULL,
    check_flag    TEXT NOT NULL,
    last_check    INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE layouts (
    name          TEXT PRIMARY KEY,
    builtin       INTEGER NOT NULL DEFAULT 0,
    version_rule  TEXT,                         -- regex with %ID% %CODEVERSION%; NULL: none
    experimental_version_rule TEXT,
    meta          TEXT NOT NULL DEFAULT '',     -- 'unstable=sid-unstable ...' (meta distribution names)
    description   TEXT NOT NULL DEFAULT ''
);
CREATE TABLE layout_suites (
    layout        TEXT NOT NULL REFERENCES layouts(name) ON DELETE CASCADE,
    suite         TEXT NOT NULL,
    position      INTEGER NOT NULL,
    uploadable    INTEGER NOT NULL DEFAULT 0,
    experimental  INTEGER NOT NULL DEFAULT 0,
    migrates_to   TEXT,
    rollbacks     INTEGER NOT NULL DEFAULT 0,
    not_automatic INTEGER NOT NULL DEFAULT 0,
    but_automatic_upgrades INTEGER NOT NULL DEFAULT 0,
    build_keyring INTEGER NOT NULL DEFAULT 0,   -- the suite to build a keyring package in (repo/keyring)
    PRIMARY KEY (layout, suite)
);
INSERT INTO layouts(name, builtin, version_rule, experimental_version_rule, meta, description) VALUES
    ('Default', 1, '~%ID%%CODEVERSION%\+[1-9]', '~%ID%%CODEVERSION%\+0', '',
     'mbd''s default: stable, hotfix, testing, unstable, snapshot, experimental'),
    ('Debian Developer', 1, NULL, NULL, 'unstable=sid-unstable experimental=sid-experimental',
     'like Debian: no version rule, uploads to meta names (unstable, experimental)');
INSERT INTO layout_suites(layout, suite, position, uploadable, experimental, migrates_to, rollbacks,
                          not_automatic, but_automatic_upgrades, build_keyring) VALUES
    ('Default', 'stable',       1, 0, 0, NULL,      6,  0, 0, 0),
    ('Default', 'hotfix',       2, 1, 0, 'stable',  4,  0, 0, 0),
    ('Default', 'testing',      3, 0, 0, 'stable',  3,  0, 0, 0),
    ('Default', 'unstable',     4, 1, 0, 'testing', 9,  0, 0, 1),
    ('Default', 'snapshot',     5, 1, 1, NULL,      12, 1, 1, 0),
    ('Default', 'experimental', 6, 1, 1, NULL,      6,  1, 0, 0),
    ('Debian Developer', 'stable',       1, 0, 0, NULL,      6, 0, 0, 0),
    ('Debian Developer', 'testing',      2, 0, 0, 'stable',  3, 0, 0, 0),
    ('Debian Developer', 'unstable',     3, 1, 0, 'testing', 9, 0, 0, 1),
    ('Debian Developer', 'experimental', 4, 1, 1, NULL,      6, 1, 0, 0);
CREATE TABLE distributions (
    codename      TEXT PRIMARY KEY,
    base_source   TEXT NOT NULL REFERENCES sources(name),
    components    TEXT NOT NULL DEFAULT 'main', -- space-separated
    architectures TEXT NOT NULL,                -- space-separated
    arch_all      TEXT NOT NULL,                -- the architecture that builds Architecture: all
    lintian_mode  TEXT NOT NULL DEFAULT 'warnfail',
    piuparts_mode TEXT NOT NULL DEFAULT 'disabled', -- unused: piuparts needs root, mbd builds without it
    autopkgtest_mode TEXT NOT NULL DEFAULT 'disabled',
    build_options TEXT NOT NULL DEFAULT '',     -- DEB_BUILD_OPTIONS
    build_profiles TEXT NOT NULL DEFAULT '',    -- DEB_BUILD_PROFILES
    resolver      TEXT NOT NULL DEFAULT 'apt'
);
CREATE TABLE distribution_extra_sources (
    codename      TEXT NOT NULL REFERENCES distributions(codename) ON DELETE CASCADE,
    source        TEXT NOT NULL REFERENCES sources(name),
    priority      INTEGER NOT NULL,
    PRIMARY KEY (codename, source)
);
CREATE TABLE repositories (
    id            TEXT PRIMARY KEY,
    layout        TEXT NOT NULL REFERENCES layouts(name),
    origin        TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    created       INTEGER NOT NULL,
    status        TEXT NOT NULL,
    check_flag    TEXT NOT NULL,
    last_check    INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE repository_distributions (
    repository    TEXT NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    codename      TEXT NOT NULL REFERENCES distributions(codename),
    architectures TEXT NOT NULL DEFAULT '',     -- a subset of the distribution's; '': all of them
    PRIMARY KEY (repository, codename)
);
-- One row per published APT distribution: CODENAME-ID-SUITE (rollback 0) and
-- CODENAME-ID-SUITE-rollbackN (rollback N+1).
CREATE TABLE dists (
    id            INTEGER PRIMARY KEY,
    repository    TEXT NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    codename      TEXT NOT NULL,
    suite         TEXT NOT NULL,
    rollback      INTEGER NOT NULL,
    name          TEXT NOT NULL UNIQUE,
    UNIQUE (repository, codename, suite, rollback)
);
CREATE TABLE pool_files (
    id            INTEGER PRIMARY KEY,
    repository    TEXT NOT NULL REFERENCES repositories(id),
    path          TEXT NOT NULL,                -- 'pool/main/h/hello/hello_1.0.dsc'
    size          INTEGER NOT NULL,
    md5           TEXT NOT NULL,
    sha1          TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    sha512        TEXT NOT NULL,
    UNIQUE (repository, path)
);
CREATE TABLE source_packages (
    id            INTEGER PRIMARY KEY,
    repository    TEXT NOT NULL REFERENCES repositories(id),
    name          TEXT NOT NULL,
    version       TEXT NOT NULL,
    component     TEXT NOT NULL,
    stanza        TEXT NOT NULL,                -- its Sources paragraph (no trailing empty line)
    installed     INTEGER NOT NULL,
    UNIQUE (repository, name, version)
);
CREATE TABLE source_files (
    source_id     INTEGER NOT NULL REFERENCES source_packages(id) ON DELETE CASCADE,
    file_id       INTEGER NOT NULL REFERENCES pool_files(id),
    PRIMARY KEY (source_id, file_id)
);
CREATE INDEX source_files_file ON source_files(file_id);
CREATE TABLE binary_packages (
    id            INTEGER PRIMARY KEY,
    source_id     INTEGER NOT NULL REFERENCES source_packages(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    version       TEXT NOT NULL,
    architecture  TEXT NOT NULL,
    kind          TEXT NOT NULL,                -- 'deb' or 'udeb'
    section       TEXT NOT NULL,
    file_id       INTEGER NOT NULL REFERENCES pool_files(id),
    stanza        TEXT NOT NULL,                -- its Packages paragraph
    contents      TEXT NOT NULL,                -- the paths it ships, one per line (Contents-ARCH)
    UNIQUE (source_id, name, architecture)
);
CREATE INDEX binary_packages_file ON binary_packages(file_id);
CREATE INDEX binary_packages_name ON binary_packages(name);
-- What each distribution holds: one version of a source (with its binaries) per name.
CREATE TABLE dist_sources (
    dist_id       INTEGER NOT NULL REFERENCES dists(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    source_id     INTEGER NOT NULL REFERENCES source_packages(id),
    since         INTEGER NOT NULL,
    PRIMARY KEY (dist_id, name)
);
CREATE INDEX dist_sources_source ON dist_sources(source_id);
-- Every change of what a distribution holds, so publishing costs what changed.
-- binary_id NULL: the source stanza. Rows before a distribution's published seq are trimmed.
CREATE TABLE dist_journal (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    dist_id       INTEGER NOT NULL REFERENCES dists(id) ON DELETE CASCADE,
    added         INTEGER NOT NULL,
    source_id     INTEGER NOT NULL,
    binary_id     INTEGER
);
CREATE INDEX dist_journal_dist ON dist_journal(dist_id, seq);
CREATE INDEX dist_journal_source ON dist_journal(source_id);
-- What was last published per distribution, and per index file its chunk table.
CREATE TABLE published_dists (
    dist_id       INTEGER PRIMARY KEY REFERENCES dists(id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,             -- journal applied up to this seq
    header        TEXT NOT NULL,                -- the Release fields other than Date/hashes
    release_sha256 TEXT NOT NULL,
    published     INTEGER NOT NULL,
    valid_until   INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE published_indices (
    dist_id       INTEGER NOT NULL REFERENCES dists(id) ON DELETE CASCADE,
    path          TEXT NOT NULL,                -- 'main/binary-amd64/Packages'
    state         BLOB NOT NULL,                -- archive/chunked.hpp IndexState
    PRIMARY KEY (dist_id, path)
);
-- Pool files being copied in (removed at commit; leftovers of a killed install are
-- deleted by the next publish) and pool files no longer referenced (deleted after a grace).
-- Sources a distribution let go of: the next publish deletes those nothing holds any more.
CREATE TABLE gc_candidates (
    source_id     INTEGER PRIMARY KEY REFERENCES source_packages(id) ON DELETE CASCADE
);
CREATE TABLE pool_pending (
    repository    TEXT NOT NULL,
    path          TEXT NOT NULL,
    PRIMARY KEY (repository, path)
);
CREATE TABLE pool_garbage (
    repository    TEXT NOT NULL,
    path          TEXT NOT NULL,
    since         INTEGER NOT NULL,
    PRIMARY KEY (repository, path)
);
)sql",
        // the names of the sources every distribution holds, in order, without a sort (status site's search)
        R"sql(
CREATE INDEX dist_sources_name ON dist_sources(name);
)sql",
        // how long each distribution's last publish took (the status site's metrics)
        R"sql(
ALTER TABLE published_dists ADD COLUMN took_ms INTEGER NOT NULL DEFAULT 0;
)sql",
        // a configuration that can change (issue 20): why a source's last check failed and
        // which of its URLs answered; what changed in a repository since it was last
        // prepared; a codename a repository no longer serves, kept until maintain retires it
        R"sql(
ALTER TABLE sources ADD COLUMN check_message TEXT NOT NULL DEFAULT '';
ALTER TABLE sources ADD COLUMN uri_used TEXT NOT NULL DEFAULT '';
ALTER TABLE repositories ADD COLUMN changes TEXT NOT NULL DEFAULT '';
ALTER TABLE repository_distributions ADD COLUMN retire_after INTEGER NOT NULL DEFAULT 0;
)sql",
        // snapshots (issue 23): a distribution's membership frozen, published as dists/DIST@NAME/
        // (repo/snapshots.hpp); the sources and binaries a snapshot holds keep their pool files
        R"sql(
CREATE TABLE snapshots (
    id            INTEGER PRIMARY KEY,
    repository    TEXT NOT NULL REFERENCES repositories(id),
    dist          TEXT NOT NULL,                -- the distribution it froze: 'bookworm-test-stable'
    codename      TEXT NOT NULL,
    suite         TEXT NOT NULL,                -- its retention policy is the suite's (snapshot.keep)
    name          TEXT NOT NULL,                -- 'release-1.0', or the UTC time of an unnamed one
    named         INTEGER NOT NULL,             -- 1: named by whoever made it (retention keeps it)
    created       INTEGER NOT NULL,
    header        TEXT NOT NULL,                -- its Release fields but Date and checksums
    release_sha256 TEXT NOT NULL,
    UNIQUE (dist, name)
);
CREATE TABLE snapshot_sources (
    snapshot_id   INTEGER NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
    source_id     INTEGER NOT NULL REFERENCES source_packages(id),
    PRIMARY KEY (snapshot_id, source_id)
);
CREATE INDEX snapshot_sources_source ON snapshot_sources(source_id);
CREATE TABLE snapshot_binaries (
    snapshot_id   INTEGER NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
    binary_id     INTEGER NOT NULL REFERENCES binary_packages(id),
    PRIMARY KEY (snapshot_id, binary_id)
);
CREATE INDEX snapshot_binaries_binary ON snapshot_binaries(binary_id);
)sql",
        // index sets (issue 24): the forms a distribution publishes (NULL: publish.indices),
        // and those its last publish wrote
        R"sql(
ALTER TABLE distributions ADD COLUMN indices TEXT;
ALTER TABLE published_dists ADD COLUMN indices TEXT NOT NULL DEFAULT 'gz xz contents by-hash';
)sql",
        // paths read or not (issue 24): a binary installed while no distribution published
        // Contents has its data member unread (contents ''), until a publish that does
        R"sql(
ALTER TABLE binary_packages ADD COLUMN contents_read INTEGER NOT NULL DEFAULT 1;
CREATE INDEX binary_packages_unread ON binary_packages(id) WHERE contents_read = 0;
)sql",
        // the uncompressed files become a form of the index set (issue 24), off in the
        // default set: the sets stored so far wrote them, and keep doing so
        R"sql(
UPDATE distributions SET indices = trim('uncompressed ' || indices) WHERE indices IS NOT NULL;
UPDATE published_dists SET indices = trim('uncompressed ' || indices);
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
        // where a chroot comes from (chroot/source.hpp): mirror is the URI that worked, of ...
        R"sql(
ALTER TABLE chroots ADD COLUMN uris TEXT NOT NULL DEFAULT '';             -- ... every URI of its source, in order ('': mirror)
ALTER TABLE chroots ADD COLUMN suite TEXT NOT NULL DEFAULT '';            -- dists/SUITE ('': the codename)
ALTER TABLE chroots ADD COLUMN key_fingerprints TEXT NOT NULL DEFAULT ''; -- the keys in keyring ('': not recorded yet)
ALTER TABLE chroots ADD COLUMN base_source TEXT NOT NULL DEFAULT '';      -- the model's source it was made from ('': none)
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
    static const std::vector<SchemaDomain> domains = {core, keys, repo, chroots, pipeline, remote};
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
