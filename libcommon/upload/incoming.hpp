// upload/incoming: the incoming/ directory as a queue, safe against partial
// uploads, concurrent passes and crashes.
//
// dput sends the .changes last, but a file may still be being written when a
// pass looks. A .changes is "complete" when it is a whole clearsigned document
// (ends with its signature) and every file it lists is present with at least
// its listed size. A part still arriving (a .changes that does not end yet, a
// file shorter than listed) is waited for only while the upload still changes:
// once nothing of it changed for incoming.settle seconds it is decided (cut
// short: malformed or a bad signature; short: the wrong size). Files that are
// absent are waited for until incoming.timeout, then the upload is rejected.
// A complete one is claimed: moved, with its files, into its own directory
// under var/spool/claimed/ (one rename each), so a crash leaves it in one place
// for the next pass to pick up (a claim cut short gets the rest of its files
// then). A claim is never left half done: if the .changes cannot be moved the
// upload stays in incoming/; if a file it lists cannot, the claim is rejected
// saying so. Passes are serialised by a lock
// (var/lock/incoming.lock). Rejected uploads are kept, untouched, in
// var/rejected/<time>-<name>/ with a REASON file: the REASON is written into
// the claim first (naming that directory), then the REJECTED event recorded,
// then the claim moved, so a pass killed on the way is finished by the next.
// Nothing is ever deleted silently. Listed files are opened relative to their
// directory, never through a symlink (O_NOFOLLOW), never blocking on a FIFO.
#pragma once

#include "core/error.hpp"
#include "core/fs.hpp"
#include "db/context.hpp"

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace mbd::upload {

struct Rejection {
    Exit code = Exit::rejected;
    std::string reason;
};

// A .changes in incoming/ as one pass sees it.
struct Pending {
    std::string changes;                 // file name in incoming/
    std::vector<std::string> files;      // listed files (plain names)
    std::vector<std::string> missing;    // listed but absent or still short
    std::vector<std::string> short_files; // present but shorter than listed
    long long age = 0;                   // seconds since the last change to any part of it
    bool complete = false;               // whole document, all files there
    bool settling = false;               // waits only for incoming.settle (a part is still growing)
    std::optional<Rejection> malformed;  // cannot be processed at all
};

// An upload moved into its own directory for processing.
struct Claim {
    std::filesystem::path dir;
    std::string changes;            // file name of the .changes inside dir
    std::vector<std::string> files; // listed files moved along
    std::vector<std::string> unmoved; // listed files that could not be moved: why (a claim with any is rejected)
};

// Limit for a .changes file (a signed text document).
inline constexpr std::uintmax_t max_changes_size = 4 << 20;

// settle: incoming.settle. A part that is still arriving (a .changes that does not end
// yet, a file shorter than listed) is waited for until nothing of the upload changed
// for that long; then it is malformed, or of the wrong size. Only files that are absent
// are waited for until incoming.timeout.
std::vector<Pending> scan_incoming(const Home& home, long long now, long long settle);

// Whether anything in incoming/ (dot files too: partial uploads of rsync, sftp) was
// written in the last `seconds`: an upload is probably still arriving.
bool written_within(const Home& home, double seconds);

// Claim a pending upload; nullopt if its .changes vanished (taken by another pass).
// If its .changes cannot be moved (or no claim directory made), nothing is moved and
// the error thrown: the upload stays in incoming/. A listed file that cannot be moved
// is noted in Claim::unmoved and the claim is to be rejected. A listed file in shared
// (one that other uploads still in incoming/ list too: the .orig of two ports of one
// source to two distributions) is hard-linked into the claim instead and stays for
// them: the last upload claimed takes it along.
std::optional<Claim> claim(const Home& home, const Pending& pending, const std::set<std::string>& shared = {});
// The files pending[i] lists that another upload of pending whose .changes is still in
// incoming/ (not claimed yet) lists too.
std::set<std::string> shared_files(const Home& home, const std::vector<Pending>& pending, std::size_t i);

// Claims left behind by an interrupted pass, oldest first (with the files they list
// that are still in incoming/, or noted as unmoved).
std::vector<Claim> leftover_claims(const Home& home);

// Files in incoming/ that no .changes lists and that are older than timeout.
std::vector<std::string> orphans(const Home& home, const std::vector<Pending>& pending, long long now,
                                 long long timeout);

// Move a claim (everything in it) to var/rejected/<time>-<name>/ with a REASON
// file; returns that directory. Records a REJECTED event. A claim whose
// rejection was decided already (rejected_already) is finished as decided then. The
// reason names the files the claim could not take (Claim::unmoved). If the claim
// cannot be moved, it stays in var/spool/claimed/ (REASON written) for the next pass.
std::filesystem::path reject(Context& ctx, const Claim& claim, const Rejection& why, const std::string& source = {},
                             const std::string& version = {}, const std::string& distribution = {});
bool rejected_already(const Claim& claim);

// Move loose files of incoming/ (orphans, a .changes that is a symlink...) to
// var/rejected/ the same way. Error(Exit::environment) if none can be moved.
std::filesystem::path reject_loose(Context& ctx, const std::vector<std::string>& names, const std::string& label,
                                   const Rejection& why);

// Read a claimed file: regular file only, never through a symlink.
std::string read_claimed(const Claim& claim, const std::string& name, std::uintmax_t max_size);

// A file as a .changes, .dsc or build request lists it; an empty checksum is one
// the document does not give.
struct ListedFile {
    std::string name;
    unsigned long long size;
    std::string sha256, sha1 = {}, md5 = {};
};

// Every listed file must be in the claim, a regular file (not a symlink), with the
// listed size and every listed checksum (as dak and dscverify check them); returns
// what was found. Throws Error(Exit::rejected) naming the file and the document:
// "checksum mismatch: MD5 of 'x' does not match the .changes".
std::map<std::string, FileDigest> verify_files(const Claim& claim, const std::vector<ListedFile>& files,
                                               std::string_view document);
// The same check of one listed file against what verify_files found.
void check_listed(const FileDigest& found, const ListedFile& f, std::string_view document);

} // namespace mbd::upload
