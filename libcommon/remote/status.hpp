// remote/status: the status document an instance shows its peers, and what
// this instance can build (its chroots and load).
//
// A status document is a deb822 paragraph clearsigned by the instance key:
//   Protocol       the exchange protocol (peers with another one are refused)
//   Identity, Mbd-Version, Fingerprint (of the signing key), Date (UTC, ISO 8601)
//   Capacity, Running, Queued      builds in parallel; running and queued builds
//   Chroots        one "CODENAME ARCH STATUS" line each
//   Remotes        one "FINGERPRINT STATUS CHECK-FLAG URL" line per remote it
//                  knows: the URL is the one it knows that peer by
//   Public-Key     the armored instance key (what `mbd-remote add` pins or trusts)
// `mbd-remote serve status` prints a fresh one; every mbd-remote command also
// writes it to var/status.asc, which is what file:// peers read.
#pragma once

#include "core/status.hpp"
#include "db/context.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace mbd::remote {

inline constexpr int protocol_version = 1;

struct ChrootInfo {
    std::string codename, architecture, status; // status: core/status.hpp's names
};

struct KnownPeer {
    std::string fingerprint;
    Status status = Status::prepared;
    CheckFlag flag = CheckFlag::unchecked;
    std::string url;
};

struct StatusDocument {
    int protocol = 0;
    std::string identity, version, fingerprint;
    long long date = 0; // unix seconds
    long long capacity = 0, running = 0, queued = 0;
    std::vector<ChrootInfo> chroots;
    std::vector<KnownPeer> remotes;
    std::string public_key; // armored

    std::string to_text() const;
    // Error(Exit::rejected) naming what is malformed.
    static StatusDocument parse(std::string_view content);
    const KnownPeer* find_peer(std::string_view fingerprint) const;
    bool has_active_chroot(std::string_view codename, std::string_view architecture) const;
};

// This instance's status now (unsigned): needs an active instance key.
StatusDocument local_status(Context& ctx);
// Sign the local status and write it to var/status.asc; returns the signed text.
std::string publish_status(Context& ctx);
std::filesystem::path status_file(const Home& home);

// What this instance can build: its chroots (libcommon/chroot) that are not
// removed, "active" when mbd-build can use them now (chroot::find_usable),
// else "prepared".
std::vector<ChrootInfo> local_chroots(Context& ctx);
bool local_chroot_available(Context& ctx, const std::string& codename, const std::string& architecture);

struct Load {
    long long running = 0, queued = 0, capacity = 1;
};
// Builds running and waiting in var/spool/build/ (those waiting for a missing
// chroot do not count), and build.jobs.
Load local_load(Context& ctx);

// "2026-11-25T14:09:55Z" -> unix seconds; nullopt when malformed.
std::optional<long long> parse_iso_time(std::string_view text);

} // namespace mbd::remote
