#include "keys/access.hpp"

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/names.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "db/db.hpp"
#include "keys/trust_set.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace fs = std::filesystem;

namespace mbd::keys {
namespace {

constexpr std::string_view begin_marker = "# mbd access keys (mbd-keygen access): written again on every change";
constexpr std::string_view end_marker = "# end of mbd access keys";

constexpr std::array<std::string_view, 3> role_names{"reader", "uploader", "admin"};

// "TYPE BASE64" of the one key line of an OpenSSH public key file, checked and
// fingerprinted by ssh-keygen.
std::pair<std::string, std::string> parse_public_key(std::string_view text)
{
    std::vector<std::string_view> lines;
    for (auto line : split(text, '\n'))
        if (!line.empty() && !line.starts_with("#"))
            lines.push_back(line);
    if (lines.size() != 1)
        throw fail(Exit::rejected, "an ssh public key file holds one key line ('TYPE BASE64 COMMENT'); this has {}",
                   lines.size());
    auto words = split_ws(lines[0]);
    static const std::array<std::string_view, 6> types{"ssh-ed25519",
                                                       "ssh-rsa",
                                                       "ecdsa-sha2-nistp256",
                                                       "ecdsa-sha2-nistp384",
                                                       "ecdsa-sha2-nistp521",
                                                       "sk-ssh-ed25519@openssh.com"};
    if (words.size() < 2 || std::find(types.begin(), types.end(), words[0]) == types.end())
        throw fail(Exit::rejected, "not an OpenSSH public key line (TYPE BASE64 [COMMENT], TYPE one of {}): '{}'",
                   fmt::join(types, ", "), printable(lines[0], 40));
    if (words[1].find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") !=
        std::string_view::npos)
        throw fail(Exit::rejected, "the key's second field is not base64");
    std::string key = fmt::format("{} {}", words[0], words[1]);
    require_program("ssh-keygen", "openssh-client");
    RunOptions o;
    o.input = key + "\n";
    auto r = run({"ssh-keygen", "-l", "-E", "sha256", "-f", "-"}, o);
    auto out = split_ws(r.out);
    if (!r.ok() || out.size() < 2 || !out[1].starts_with("SHA256:"))
        throw fail(Exit::rejected, "ssh-keygen does not take it as a public key: {}", trim(r.err + r.out));
    return {key, std::string(out[1])};
}

AccessKey load(db::Stmt& q)
{
    AccessKey k{q.text(0), *parse_role(q.text(1)), q.text(2), q.text(3), {}, q.int64(5)};
    std::string uploaders = q.text(4); // (split_ws's views point into it)
    for (auto u : split_ws(uploaders))
        k.uploaders.emplace_back(u);
    return k;
}

constexpr std::string_view columns = "name, role, key, fingerprint, uploaders, added";

AccessKey require(Context& ctx, std::string_view name)
{
    names::check(names::remote, name);
    auto k = find_access(ctx, name);
    if (!k)
        throw fail(Exit::not_found, "no access key '{}' (mbd-keygen access list)", name);
    return *k;
}

// What a path may be inside authorized_keys' command="...": no quote, no backslash, no space.
std::string command_word(const fs::path& p)
{
    std::string s = p.string();
    if (s.find_first_of("\"\\ \t\n") != std::string::npos)
        throw fail(Exit::config, "'{}' cannot be named in authorized_keys (a quote, backslash or space)", s);
    return s;
}

} // namespace

std::optional<Role> parse_role(std::string_view name)
{
    for (std::size_t i = 0; i < role_names.size(); ++i)
        if (role_names[i] == name)
            return Role(i);
    return std::nullopt;
}

std::string_view role_name(Role role) { return role_names.at(std::size_t(role)); }

AccessKey add_access(Context& ctx, std::string_view name, Role role, std::string_view public_key,
                     const std::vector<std::string>& uploaders)
{
    names::check(names::remote, name);
    auto& db = ctx.db();
    std::vector<std::string> fprs;
    for (const auto& u : uploaders) {
        auto f = normalize_fingerprint(u);
        if (!db.scalar_int("SELECT count(*) FROM uploaders WHERE fingerprint = ?", f).value_or(0))
            throw fail(Exit::not_found, "no uploader {} (mbd-keygen uploader list)", f);
        fprs.push_back(f);
    }
    auto [key, fingerprint] = parse_public_key(public_key);
    db::Transaction tx(db);
    if (find_access(ctx, name))
        throw fail(Exit::exists, "there is an access key '{}' already", name);
    auto other = db.query("SELECT name FROM access_keys WHERE fingerprint = ?", fingerprint);
    if (other.step())
        throw fail(Exit::exists, "that key ({}) is access key '{}' already", fingerprint, other.text(0));
    db.run("INSERT INTO access_keys(name, role, key, fingerprint, uploaders, added) VALUES (?, ?, ?, ?, ?, ?)", name,
           role_name(role), key, fingerprint, join(fprs, " "), now_seconds());
    tx.commit();
    return *find_access(ctx, name);
}

std::vector<AccessKey> list_access(Context& ctx)
{
    std::vector<AccessKey> out;
    auto q = ctx.db().query(fmt::format("SELECT {} FROM access_keys ORDER BY name", columns));
    while (q.step())
        out.push_back(load(q));
    return out;
}

std::optional<AccessKey> find_access(Context& ctx, std::string_view name)
{
    auto q = ctx.db().query(fmt::format("SELECT {} FROM access_keys WHERE name = ?", columns), name);
    if (!q.step())
        return std::nullopt;
    return load(q);
}

AccessKey set_access_role(Context& ctx, std::string_view name, Role role)
{
    require(ctx, name);
    ctx.db().run("UPDATE access_keys SET role = ? WHERE name = ?", role_name(role), name);
    return require(ctx, name);
}

void remove_access(Context& ctx, std::string_view name)
{
    require(ctx, name);
    ctx.db().run("DELETE FROM access_keys WHERE name = ?", name);
}

fs::path authorized_keys_file(Context& ctx)
{
    auto file = ctx.config().get("access.authorized_keys");
    return file.empty() ? ctx.home().root / ".ssh/authorized_keys" : fs::path(file);
}

void write_authorized_keys(Context& ctx, const fs::path& gateway)
{
    fs::path file = authorized_keys_file(ctx);
    std::string command = fmt::format("{} --home {} gateway --key", command_word(gateway), command_word(ctx.home().root));
    std::string block = std::string(begin_marker) + "\n";
    for (const auto& k : list_access(ctx))
        block += fmt::format("restrict,command=\"{} {}\" {} mbd:{}\n", command, k.name, k.key, k.name);
    block += std::string(end_marker) + "\n";

    std::string before, after;
    std::error_code ec;
    if (fs::exists(file, ec)) {
        std::string text = read_file(file);
        auto begin = text.find(std::string(begin_marker) + "\n");
        auto end = text.find(std::string(end_marker) + "\n");
        if (begin == std::string::npos || end == std::string::npos || end < begin) {
            before = text;
            if (!before.empty() && !before.ends_with("\n"))
                before += "\n";
        } else {
            before = text.substr(0, begin);
            after = text.substr(end + end_marker.size() + 1);
        }
    }
    make_dirs(file.parent_path(), 0700);
    write_atomic(file, before + block + after, 0600);
}

std::string describe(const std::vector<AccessKey>& keys)
{
    std::string out;
    for (const auto& k : keys)
        out += fmt::format("{} {:<8} {} {}\n", k.name, role_name(k.role), k.fingerprint,
                           k.uploaders.empty() ? "-" : join(k.uploaders, ","));
    return out;
}

Json to_json(const std::vector<AccessKey>& keys)
{
    Json out = Json::array();
    for (const auto& k : keys) {
        Json uploaders = Json::array();
        for (const auto& u : k.uploaders)
            uploaders.push(u);
        out.push(Json::object()
                     .set("name", k.name)
                     .set("role", std::string(role_name(k.role)))
                     .set("fingerprint", k.fingerprint)
                     .set("key", k.key)
                     .set("uploaders", uploaders)
                     .set("added", k.added));
    }
    return out;
}

} // namespace mbd::keys
