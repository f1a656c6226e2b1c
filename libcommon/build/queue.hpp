// build/queue: the build spool (var/spool/build/) and one mbd-build pass.
//
// A queued request is a directory var/spool/build/<key>/ holding request.asc
// (the signed request) and the source files it lists; it is written under a
// dot-name and renamed into place when complete. A pass runs every request
// it can, up to build.jobs at once across all passes (slot locks in
// var/lock/), starting the next one the moment a slot frees. A running build
// lives in var/builds/<key>/ and holds a lock there; a build whose process
// died (lock free, status running) is put back in the queue by the next pass.
// When a build ends, its signed result is delivered to the requester and the
// request leaves the spool.
#pragma once

#include "build/request.hpp"
#include "build/sbuild.hpp"
#include "core/error.hpp"
#include "core/json.hpp"
#include "db/context.hpp"

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace mbd::build {

// The key of a request (its spool and build directory name, also used by the
// remote domain): "<first 16 digits of the requester's fingerprint>-<id>".
std::string request_key(const std::string& requester, const std::string& id);

// Put a request (signed text + its source files) into the spool; returns its key.
std::string enqueue(const Home& home, const Request& request, const std::string& signed_request,
                    const std::filesystem::path& source_dir);

// Has a request a job here (queued by a pass, running or ended)?
bool has_job(db::Db& db, const std::string& requester, const std::string& id);
// Is a request known here already: in the spool, or with a job?
bool known_request(const Home& home, db::Db& db, const std::string& requester, const std::string& id);

// What the build of a request sees of the host, read-only (build/sbuild.cpp): for this
// instance's own requests (own), the repositories of this instance their apt sources name
// (file://HOME/repositories/ID), nothing else; a peer's request may name only http and
// https URLs (what the peer publishes, its mirrors) and sees nothing of the host.
// Error(Exit::not_allowed) for any other apt source.
std::vector<BindMount> source_binds(const Home& home, const Request& request, bool own);

struct PassReport {
    int started = 0, successful = 0, failed = 0, requeued = 0;
    int rejected = 0;         // malformed requests moved to var/rejected/
    int errors = 0;           // builds that ended in an error of ours (a failed result went back)
    Exit error = Exit::ok;    // the first such error's code
};

// How a result reaches its requester. build declares it; remote implements it
// (remote::result_delivery(): our own incoming/ for this instance, an outgoing item
// for a peer) and the tool wires the two, so build never includes remote.
struct Delivery {
    // The directory a result for requester goes into.
    std::function<std::filesystem::path(Context&, const std::string& requester)> route;
    // Once a result is in dir: wake the pass that takes it on.
    std::function<void(const Home&, const std::filesystem::path& dir)> delivered;
};

// What runs one build: run_sbuild, or (tests) something that gives the same outcome.
using Runner = std::function<SbuildOutcome(const SbuildJob&)>;

PassReport run_pass(Context& ctx, const Delivery& delivery, const Runner& runner = run_sbuild);


struct Job {
    std::string key, id, requester, source, version, distribution, architecture, status, dir, log, message;
    long long queued = 0, started = 0, finished = 0;
};
std::vector<Job> list_jobs(Context& ctx, const std::string& status_filter = {});
// paths: with the log's path (a path of the home: not for pages others read).
Json to_json(const Job& job, bool paths = true);
// The directories of builds that ended (successful, failed, given back, cancelled) at or before `before`.
std::vector<std::string> finished_dirs(Context& ctx, long long before);

// The log of a build run here (by request id), or Error(Exit::not_found).
std::filesystem::path job_log(Context& ctx, const std::string& id);

// Stop a build: a queued one leaves the queue, a running one's sbuild is
// terminated; either way the requester gets a failed result ("cancelled").
void cancel(Context& ctx, const std::string& id, const Delivery& delivery);

} // namespace mbd::build
