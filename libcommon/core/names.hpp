// core/names: the one grammar of every name mbd takes from a command line or a
// received document (build request, build result, peer status, put stream)
// before it can become part of a path, a lock or a spool entry. Each kind of
// name is a Kind (what it is called, its grammar in words, its predicate);
// check() refuses anything else before anything touches the file system.
//
//   names::check(names::build_ref, id);                    // Error(Exit::usage)
//   names::check(names::architecture, a, Exit::rejected);  // from a document
#pragma once

#include "core/error.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace mbd::names {

struct Kind {
    std::string_view what;    // "repository id"
    std::string_view grammar; // "lowercase letters and digits"
    bool (*valid)(std::string_view);
    // a kind with reasons of its own (file names); else "invalid WHAT 'x' (GRAMMAR)"
    std::optional<std::string> (*reason)(std::string_view) = nullptr;
};

// Part of CODENAME-ID-SUITE: [a-z0-9]{1,64}.
extern const Kind repository, codename, suite;
// A distribution: CODENAME-ID-SUITE[-rollbackN], or a meta name (sid-unstable).
extern const Kind distribution;
// [a-z0-9][a-z0-9.+_-]{0,99}: a source, the codename its Release carries, a component.
extern const Kind source, release, component;
// A layout: up to 64 characters, no tab, newline or quote ("Debian Developer").
extern const Kind layout;
// A Debian architecture: [a-z0-9][a-z0-9-]{0,63}.
extern const Kind architecture;
// A Debian package name (Policy 5.6.1): [a-z0-9][a-z0-9+.-]+.
extern const Kind package;
// A peer instance: [a-z0-9][a-z0-9-]{0,63}.
extern const Kind remote;
// A snapshot's name (DIST@NAME, repo/snapshots.hpp): [a-z0-9][a-z0-9.+~-]{0,63}, no "..".
extern const Kind snapshot;
// A build request's id, unique per requester ("17-amd64"): [0-9a-z][0-9a-z.+~-]{0,99}, no "..".
extern const Kind build_id;
// A build as the build commands take it: its id, or its key "<16 hex digits>-<id>" (build/queue.hpp).
extern const Kind build_ref;
// A key fingerprint: 40 hex digits.
extern const Kind fingerprint;
// A file name in an upload, a request, a result or a put stream: letters, digits and
// .+~_-, not starting with '.' or '-', no "..", not "REASON" (what rejects are kept with).
extern const Kind file;

// Why value is not a name of this kind ("invalid build id '../x' (...)"); nullopt when it is.
std::optional<std::string> problem(const Kind& kind, std::string_view value);

// Error(code) with problem() unless value is a name of this kind.
void check(const Kind& kind, std::string_view value, Exit code = Exit::usage);

} // namespace mbd::names
