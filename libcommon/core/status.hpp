// core/status: the status model shared by the instance key, sources,
// repositories, chroots and remotes (the seed manual's "Model statuses").
//
//   status:     removed -> prepared -> active
//   check flag: none (checked, in sync), unchecked '-', changed '*' (the configuration
//               changed since: model/edit.hpp), failed 'x',
//               failed_reactivate 'A' (check failed; activate again once a check passes;
//               a change keeps it)
//
// Actions: prepare (create the associated data), check, activate, deactivate,
// remove. The transitions are pure functions here; each domain stores the three
// columns status, check_flag, last_check in its own table and runs the
// domain-specific work (bootstrap a chroot, fetch a Release, ...) around them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mbd {

enum class Status { removed, prepared, active };
enum class CheckFlag { none, unchecked, changed, failed, failed_reactivate };

std::string_view to_string(Status s);
std::string_view to_string(CheckFlag f);
std::optional<Status> parse_status(std::string_view s);
std::optional<CheckFlag> parse_check_flag(std::string_view s);
// The seed's one-character display: ' ' (none), '-', '*', 'x', 'A'.
char flag_symbol(CheckFlag f);

struct ModelStatus {
    Status status = Status::removed;
    CheckFlag flag = CheckFlag::unchecked;
    long long last_check = 0; // unix seconds, 0: never

    // "active", "prepared -", "prepared A", "removed"
    std::string display() const;

    // Transitions. Each returns the new state; the *_error ones say why an
    // action is refused (for an Error(Exit::state) with the model's name).
    ModelStatus after_prepare() const;        // data created/synchronised: prepared, unchecked
    ModelStatus after_change() const;         // configuration changed: flag changed ('*')
    ModelStatus after_check(bool ok, long long now) const;
    ModelStatus after_remove() const;         // data removed
    std::optional<std::string> activate_error() const; // nullopt: activate() may be called
    ModelStatus activate() const;             // active, or auto-reactivate when the last check failed
    ModelStatus deactivate() const;           // prepared; clears the auto-reactivate flag
};

} // namespace mbd
