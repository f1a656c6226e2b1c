// core/home: the instance home layout (shared/DESIGN.md), in one place.
#pragma once

#include <filesystem>

namespace mbd {

struct Home {
    std::filesystem::path root;

    std::filesystem::path db() const { return root / "config.sqlite"; }
    std::filesystem::path gnupg() const { return root / "gnupg"; }
    std::filesystem::path etc() const { return root / "etc"; }
    std::filesystem::path incoming() const { return root / "incoming"; }
    std::filesystem::path var() const { return root / "var"; }
    std::filesystem::path spool_build() const { return root / "var/spool/build"; }
    std::filesystem::path spool_outgoing() const { return root / "var/spool/outgoing"; }
    std::filesystem::path spool_claimed() const { return root / "var/spool/claimed"; } // uploads being processed
    std::filesystem::path wake() const { return root / "var/spool/wake"; } // flags that start passes (core/wake.hpp)
    std::filesystem::path builds() const { return root / "var/builds"; }
    std::filesystem::path chroots() const { return root / "var/chroots"; }
    std::filesystem::path rejected() const { return root / "var/rejected"; }
    std::filesystem::path log() const { return root / "var/log"; }
    std::filesystem::path locks() const { return root / "var/lock"; }
    std::filesystem::path tmp() const { return root / "var/tmp"; }
    std::filesystem::path repositories() const { return root / "repositories"; }

    // Create every directory of the layout that is missing (gnupg 0700).
    void ensure() const;
};

} // namespace mbd
