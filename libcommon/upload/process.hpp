// upload/process: one mbd-incoming pass.
//
// Under the incoming lock: finish claims an interrupted pass left, then take
// every complete .changes in incoming/ (oldest first) and decide:
//  - an upload (signed by an uploader granted the repository): verified, its
//    files and .dsc checked, the distribution and version rules applied, its
//    options parsed; accepted uploads become one signed build request per
//    architecture (PACKAGING, BUILDING) and the files move to var/builds/upload-N/;
//  - a build result (signed by this instance or an active remote, for a build
//    we asked for): recorded (BUILT/FAILED); once every architecture of the
//    upload is in, the source and all binaries are installed at once and
//    published (INSTALLED), or the upload is FAILED with the logs kept;
//  - a build request from an active remote (*.mbd-request): queued for mbd-build.
// Everything rejected is kept in var/rejected/ with a REASON (REJECTED).
// Incomplete uploads wait for incoming.timeout, then are rejected too.
#pragma once

#include "core/json.hpp"
#include "db/context.hpp"

#include <optional>
#include <string>
#include <vector>

namespace mbd::upload {

struct PassReport {
    int uploads = 0, results = 0, requests = 0, rejected = 0, waiting = 0, installed = 0, failed = 0;
};

PassReport run_incoming_pass(Context& ctx);

} // namespace mbd::upload

namespace mbd::upload {

struct UploadInfo {
    long long id = 0;
    std::string changes, source, version, distribution, uploader, status, dir, message;
    long long received = 0, finished = 0;
    struct Build {
        std::string id, architecture, status, builder, message;
        double seconds = 0;
    };
    std::vector<Build> builds;
};
std::vector<UploadInfo> list_uploads(Context& ctx, const std::string& status_filter = {}, int limit = 0);
// paths: with the upload's directory (a path of the home: not for pages others read).
Json to_json(const UploadInfo& u, bool paths = true);
// The directories (var/builds/...) of uploads installed or failed at or before `before` (unix seconds).
std::vector<std::string> finished_dirs(Context& ctx, long long before);

// The fingerprint of the key that signed the upload a build (requester side, by its id)
// was asked for; nullopt when there is no such build.
std::optional<std::string> uploader_of_build(Context& ctx, const std::string& build_id);

// Ask again for a build that failed (requester side): the upload goes back to
// building, the old result is kept beside the new one. Error(Exit::not_found/state).
void retry_build(Context& ctx, const std::string& build_id);

} // namespace mbd::upload
