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

#include "core/entry.hpp"

namespace mbd::upload {

struct PassReport {
    int uploads = 0, results = 0, requests = 0, rejected = 0, waiting = 0, installed = 0, failed = 0;
};

PassReport run_incoming_pass(Context& ctx);

} // namespace mbd::upload
