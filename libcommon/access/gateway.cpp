#include "access/gateway.hpp"

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/names.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "events/events.hpp"
#include "upload/process.hpp"
#include "upload/receive.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace fs = std::filesystem;

namespace mbd::access {
namespace {

using keys::Role;

// The characters a word may have: no path ('/'), no shell syntax; globs are words of
// mbd-repo search (nothing expands them).
bool plain_word(std::string_view w)
{
    return !w.empty() && std::all_of(w.begin(), w.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               std::string_view("._+~:=,@%*?[]-").find(c) != std::string_view::npos;
    });
}

// Options of every tool that change which instance, or its configuration, a call works on.
bool instance_option(std::string_view w)
{
    for (std::string_view o : {"--home", "--option", "--log", "--show-config", "--describe-cli"})
        if (w == o || w.starts_with(std::string(o) + "="))
            return true;
    return w.size() > 1 && w[0] == '-' && w[1] != '-' && w.find('o') != std::string_view::npos; // -o, -qo...
}

// An uploader may run an own-uploads command for its own uploads.
Role least_role(const Command& c) { return c.own ? Role::uploader : c.role; }

const Command* find_command(const std::vector<std::string>& words, std::size_t& used)
{
    const Command* best = nullptr;
    for (const auto& c : commands()) {
        if (words.empty() || words[0] != c.tool)
            continue;
        auto sub = split_ws(c.words);
        if (words.size() < sub.size() + 1 || (best && sub.size() + 1 <= used))
            continue;
        if (std::equal(sub.begin(), sub.end(), words.begin() + 1)) {
            best = &c;
            used = sub.size() + 1;
        }
    }
    return best;
}

// What dput's scp method runs after uploading files that were not 0644 where they came from:
// "chmod 0644 INCOMING/NAME...". The receiver stores every file 0644 already.
bool dput_chmod(const std::vector<std::string>& words)
{
    if (words.size() < 3 || words[0] != "chmod" || words[1] != "0644")
        return false;
    return std::all_of(words.begin() + 2, words.end(), [](const std::string& w) {
        return w.starts_with("/incoming/") && !names::problem(names::file, w.substr(10)).has_value();
    });
}

std::string who(const keys::AccessKey& key)
{
    return fmt::format("{} ({}, {})", key.name, keys::role_name(key.role), key.fingerprint);
}

// An upload session into incoming/.
int receive(Context& ctx, const keys::AccessKey& key, upload::Protocol protocol, const std::string& line,
            std::string& outcome)
{
    if (key.role < Role::uploader)
        throw fail(Exit::not_allowed, "access key '{}' is a {}: it may not upload (mbd-keygen access role)", key.name,
                   keys::role_name(key.role));
    auto r = upload::receive_session(ctx, protocol, line);
    outcome = fmt::format("stored {}", r.stored.empty() ? "nothing" : join(r.stored, " "));
    return 0;
}

int call(Context& ctx, const keys::AccessKey& key, const std::string& line, const fs::path& tools,
         std::string& outcome)
{
    if (trim(line).empty())
        throw fail(Exit::not_allowed, "this ssh key runs mbd commands, not a shell; access key '{}' ({}) may run:\n{}",
                   key.name, keys::role_name(key.role), describe_commands(key.role));
    if (auto protocol = upload::upload_protocol(line))
        return receive(ctx, key, *protocol, line, outcome);
    auto words = split_words(line);
    if (dput_chmod(words) && key.role >= Role::uploader) {
        outcome = "chmod: nothing to do (files stored in incoming are 0644)";
        return 0;
    }
    for (const auto& w : words) {
        if (!plain_word(w))
            throw fail(Exit::not_allowed,
                       "'{}': a word of a gateway call has letters, digits and ._+~:=,@%*?[]- only (no path, no shell)",
                       printable(w, 80));
        if (instance_option(w))
            throw fail(Exit::not_allowed, "'{}': the gateway runs the commands of this instance as it is configured", w);
    }
    std::size_t used = 0;
    const Command* c = find_command(words, used);
    if (!c)
        throw fail(Exit::not_allowed, "'{}' is not a command of the gateway; access key '{}' ({}) may run:\n{}",
                   fmt::join(words.begin(), words.begin() + long(std::min<std::size_t>(words.size(), 3)), " "),
                   key.name, keys::role_name(key.role), describe_commands(key.role));
    if (key.role < least_role(*c))
        throw fail(Exit::not_allowed, "access key '{}' is a {}: '{} {}' needs {}", key.name, keys::role_name(key.role),
                   c->tool, c->words, c->own ? "an uploader (its own uploads) or an admin" : keys::role_name(c->role));
    bool own = c->own && key.role < c->role;
    if (own) { // (the build's id alone: no option could hide another one)
        if (words.size() != used + 1)
            throw fail(Exit::not_allowed, "'{} {}' through the gateway takes one build id and nothing else", c->tool,
                       c->words);
        auto signer = upload::uploader_of_build(ctx, words.back());
        if (!signer || std::find(key.uploaders.begin(), key.uploaders.end(), *signer) == key.uploaders.end())
            throw fail(Exit::not_allowed, "access key '{}' may '{} {}' only builds of uploads signed by its keys ({}); "
                       "'{}' is not one", key.name, c->tool, c->words,
                       key.uploaders.empty() ? "none" : join(key.uploaders, ", "), words.back());
    }
    std::vector<std::string> argv{(tools / std::string(c->tool)).string(), "--home", ctx.home().root.string()};
    argv.insert(argv.end(), words.begin() + 1, words.end());
    make_dirs(ctx.home().tmp());
    TempDir empty(ctx.home().tmp(), "gateway");
    RunOptions o;
    o.cwd = empty.path();
    o.input_file = "/dev/null";
    o.capture_stdout = false;
    o.capture_stderr = false;
    auto r = run(argv, o);
    outcome = fmt::format("exit {}", r.status);
    return r.status;
}

} // namespace

const std::vector<Command>& commands()
{
    static const std::vector<Command> table{
        // reader: what there is and what happened
        {"mbd-repo", "ls", Role::reader},
        {"mbd-repo", "show", Role::reader},
        {"mbd-repo", "search", Role::reader},
        {"mbd-repo", "sources-list", Role::reader},
        {"mbd-repo", "dput-conf", Role::reader},
        {"mbd-repo", "debdiff", Role::reader},
        {"mbd-repo", "repository ls", Role::reader},
        {"mbd-repo", "repository show", Role::reader},
        {"mbd-repo", "source ls", Role::reader},
        {"mbd-repo", "source show", Role::reader},
        {"mbd-repo", "layout ls", Role::reader},
        {"mbd-repo", "layout show", Role::reader},
        {"mbd-repo", "dist ls", Role::reader},
        {"mbd-repo", "dist show", Role::reader},
        {"mbd-incoming", "events", Role::reader},
        {"mbd-incoming", "uploads", Role::reader},
        {"mbd-build", "list", Role::reader},
        {"mbd-build", "ls", Role::reader},
        {"mbd-build", "log", Role::reader},
        {"mbd-chroot", "list", Role::reader},
        {"mbd-remote", "list", Role::reader},
        {"mbd-remote", "show", Role::reader},
        {"mbd-remote", "routes", Role::reader},
        {"mbd-remote", "status", Role::reader},
        {"mbd-keygen", "show", Role::reader},
        {"mbd-keygen", "export", Role::reader},
        {"mbd-keygen", "uploader list", Role::reader},
        // uploader: its own builds again or stopped (and uploads: sftp, scp)
        {"mbd-build", "retry", Role::admin, true},
        {"mbd-build", "cancel", Role::admin, true},
        // admin: what changes the archive and its model
        {"mbd-repo", "migrate", Role::admin},
        {"mbd-repo", "remove", Role::admin},
        {"mbd-repo", "port", Role::admin},
        {"mbd-repo", "publish", Role::admin},
        {"mbd-repo", "maintain", Role::admin},
        {"mbd-repo", "check", Role::admin},
        {"mbd-repo", "site", Role::admin},
        {"mbd-repo", "create", Role::admin},
        {"mbd-repo", "repository prepare", Role::admin},
        {"mbd-repo", "repository activate", Role::admin},
        {"mbd-repo", "repository deactivate", Role::admin},
        {"mbd-repo", "repository remove", Role::admin},
        {"mbd-repo", "repository set", Role::admin},
        {"mbd-repo", "source set", Role::admin},
        {"mbd-repo", "dist set", Role::admin},
        {"mbd-repo", "dist remove", Role::admin},
        {"mbd-repo", "layout remove", Role::admin},
        {"mbd-repo", "layout remove-suite", Role::admin},
        {"mbd-incoming", "subscribe", Role::admin},
        {"mbd-incoming", "unsubscribe", Role::admin},
        {"mbd-incoming", "subscriptions", Role::admin},
        {"mbd-repo", "source add", Role::admin},
        {"mbd-repo", "source check", Role::admin},
        {"mbd-repo", "source activate", Role::admin},
        {"mbd-repo", "source deactivate", Role::admin},
        {"mbd-repo", "source remove", Role::admin},
        {"mbd-repo", "layout add", Role::admin},
        {"mbd-repo", "layout suite", Role::admin},
        {"mbd-repo", "layout rules", Role::admin},
        {"mbd-repo", "dist add", Role::admin},
        {"mbd-chroot", "create", Role::admin},
        {"mbd-chroot", "update", Role::admin},
        {"mbd-chroot", "check", Role::admin},
        {"mbd-chroot", "activate", Role::admin},
        {"mbd-chroot", "deactivate", Role::admin},
        {"mbd-chroot", "remove", Role::admin},
        {"mbd-remote", "check", Role::admin},
        {"mbd-remote", "activate", Role::admin},
        {"mbd-remote", "deactivate", Role::admin},
        {"mbd-remote", "remove", Role::admin},
        {"mbd-keygen", "check", Role::admin},
        {"mbd-keygen", "uploader grant", Role::admin},
        {"mbd-keygen", "uploader revoke", Role::admin},
        {"mbd-keygen", "uploader remove", Role::admin},
    };
    return table;
}

std::string describe_commands(std::optional<Role> role)
{
    std::string out;
    if (!role || *role >= Role::uploader)
        out += "uploader upload sessions: sftp and scp into /incoming (dput methods scp and sftp)\n";
    for (const auto& c : commands()) {
        Role least = least_role(c);
        if (!role || *role >= least)
            out += fmt::format("{:<8} {} {}{}\n", keys::role_name(least), c.tool, c.words,
                               c.own ? " (uploader: builds of its own uploads)" : "");
    }
    return out;
}

std::vector<std::string> split_words(std::string_view line)
{
    std::vector<std::string> out;
    std::string word;
    bool in_word = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        char c = line[i];
        if (c == ' ' || c == '\t' || c == '\n') {
            if (in_word)
                out.push_back(std::move(word));
            word.clear();
            in_word = false;
            continue;
        }
        in_word = true;
        if (c == '\\' && i + 1 < line.size()) {
            word += line[++i];
        } else if (c == '\'') {
            auto end = line.find('\'', i + 1);
            if (end == std::string_view::npos)
                throw fail(Exit::usage, "the command has an unbalanced quote (')");
            word += line.substr(i + 1, end - i - 1);
            i = end;
        } else if (c == '"') {
            std::size_t j = i + 1;
            for (; j < line.size() && line[j] != '"'; ++j)
                word += (line[j] == '\\' && j + 1 < line.size() && std::string_view("\"\\$`").find(line[j + 1]) !=
                                                                     std::string_view::npos)
                            ? line[++j]
                            : line[j];
            if (j >= line.size())
                throw fail(Exit::usage, "the command has an unbalanced quote (\")");
            i = j;
        } else {
            word += c;
        }
    }
    if (in_word)
        out.push_back(std::move(word));
    return out;
}

int serve(Context& ctx, std::string_view name, const std::optional<std::string>& original, const fs::path& tools)
{
    names::check(names::remote, name, Exit::not_allowed);
    std::string line = original.value_or("");
    auto key = keys::find_access(ctx, name);
    if (!key) {
        record_event(ctx.db(), Event{0, 0, "CALL", "", "", "", "", fmt::format("{}: refused, no such access key", name),
                                     fmt::format("{}", name)},
                     false);
        throw fail(Exit::not_allowed, "there is no access key '{}' (any more): ask the instance's admin", name);
    }
    std::string shown = printable(line, 200); // (into events and log lines: no control characters)
    try {
        std::string outcome;
        int status = call(ctx, *key, line, tools, outcome);
        record_event(ctx.db(), Event{0, 0, "CALL", "", "", "", "", fmt::format("{}: {}: {}", who(*key), shown, outcome),
                                     key->fingerprint},
                     false); // (the event is the record; stderr is the client's)
        return status;
    } catch (const Error& e) {
        record_event(ctx.db(), Event{0, 0, "CALL", "", "", "", "",
                                     fmt::format("{}: {}: refused: {}", who(*key), shown, split(e.what(), '\n')[0]),
                                     key->fingerprint},
                     false);
        throw;
    }
}

} // namespace mbd::access
