// site/site: the instance's status site, static files under HOME/site/ that any web server
// serves beside the archive (examples/nginx/mbd.conf): the home page (instance, chroots,
// remotes, build queue, last builds, last events), repositories and their suites with the
// versions they hold and how to use them, a page per source (versions, uploads, builds and
// their logs, events), rejected and failed uploads, an Atom feed of events, a Prometheus
// metrics file, and a search index. Every page is HTML for people and the same data as JSON
// for scripts (NAME.html beside NAME.json).
//
// The tools write it at the end of every command that changed the state (app/entry), when
// `site.enabled` is set: a page is rewritten only when its content changed (write to a
// temporary file, rename), so a reader never sees half a page; the pages of sources and
// distributions are made again only when an event since the last update names them (a
// suite's with its rollbacks).
// Nothing from an upload reaches a page unescaped, and no page names a path of the home.
#pragma once

#include "db/context.hpp"

#include <filesystem>

namespace mbd::site {

std::filesystem::path site_dir(const Home& home); // HOME/site

struct Report {
    int written = 0;   // pages written (their content changed)
    int unchanged = 0; // pages made again with the same content, left as they were
    int removed = 0;   // build logs whose builds are gone, pages of a cut that changed
};

// Bring the site up to date with the state database: the pages every change touches,
// and those of the sources and repositories named by events since the last update
// (all of them when full, or on the first update). Serialized by a lock of its own.
Report update(Context& ctx, bool full = false);

// What the tools call after a command that changed the state: update() when site.enabled
// is set. A failure is logged as a warning and never changes the command's outcome.
void refresh(Context& ctx) noexcept;

} // namespace mbd::site
