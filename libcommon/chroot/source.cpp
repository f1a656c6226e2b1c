#include "chroot/source.hpp"

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "gpg/gpg.hpp"

#include <algorithm>
#include <fcntl.h>
#include <set>
#include <unistd.h>

namespace mbd::chroot {
namespace {

// The last 16 hex digits of each fingerprint (the long key id), for messages.
std::string short_keys(const std::string& keys)
{
    std::vector<std::string> out;
    for (auto k : split_ws(keys))
        out.emplace_back(k.size() > 16 ? k.substr(k.size() - 16) : k);
    return out.empty() ? "none" : join(out, " ");
}

std::set<std::string> uri_set(const std::vector<std::string>& uris)
{
    std::set<std::string> out;
    for (auto u : uris) {
        while (!u.empty() && u.back() == '/') // 'http://a/debian/' is 'http://a/debian'
            u.pop_back();
        out.insert(u);
    }
    return out;
}

} // namespace

Source resolve_source(const Home& home, const Config& config, std::string mirror, std::filesystem::path keyring)
{
    Source source;
    source.mirror = mirror.empty() ? config.get("mirror") : std::move(mirror);
    if (source.mirror.find("://") == std::string::npos || split_ws(source.mirror).size() != 1)
        throw fail(Exit::usage, "invalid mirror URL '{}'", source.mirror);
    source.uris = {source.mirror};
    source.keyring = std::filesystem::absolute(keyring.empty() ? std::filesystem::path(default_keyring) : keyring);
    if (split_ws(source.keyring.string()).size() != 1)
        throw fail(Exit::usage, "keyring path '{}' must not contain white space", source.keyring.string());
    int fd = ::open(source.keyring.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw sys_error(fmt::format("cannot read keyring '{}'", source.keyring.string()));
    ::close(fd);
    source.keys = keyring_keys(home, source.keyring);
    return source;
}

std::string keyring_keys(const Home& home, const std::filesystem::path& keyring)
{
    std::string data = read_file(keyring);
    make_dirs(home.tmp());
    TempDir dir(home.tmp(), "keyring");
    gpg::Keyring ring(dir.path(), gpg::Keyring::Kind::public_only);
    std::set<std::string> fingerprints;
    for (const auto& k : ring.inspect_keys(data))
        fingerprints.insert(k.fingerprint);
    return join(std::vector<std::string>(fingerprints.begin(), fingerprints.end()), " ");
}

std::string differences(const Source& made, const Source& want, std::string_view codename)
{
    std::vector<std::string> out;
    if (uri_set(made.uris) != uri_set(want.uris))
        out.push_back(fmt::format("URIs '{}', now '{}'", join(made.uris, " "), join(want.uris, " ")));
    if (made.suite_or(codename) != want.suite_or(codename))
        out.push_back(fmt::format("suite '{}', now '{}'", made.suite_or(codename), want.suite_or(codename)));
    if (split_ws(made.components) != split_ws(want.components))
        out.push_back(fmt::format("components '{}', now '{}'", made.components, want.components));
    if (made.keys != want.keys)
        out.push_back(fmt::format("keys {}, now {}", short_keys(made.keys), short_keys(want.keys)));
    return join(out, "; ");
}

std::string describe(const Source& source, std::string_view codename)
{
    if (!source.base_source.empty())
        return fmt::format("source '{}' ({}, suite {})", source.base_source, join(source.uris, " "),
                           source.suite_or(codename));
    return fmt::format("mirror '{}' (keyring '{}')", source.mirror.empty() ? join(source.uris, " ") : source.mirror,
                       source.keyring.string());
}

std::string keyring_inside(const Source& source)
{
    return ends_with(source.keyring.string(), ".asc") ? "/etc/apt/keyrings/mbd-source.asc"
                                                      : "/etc/apt/keyrings/mbd-source.gpg";
}

std::string sources_line(const Source& source, std::string_view codename)
{
    return fmt::format("deb [signed-by={}] {} {} {}", keyring_inside(source), source.mirror, source.suite_or(codename),
                       source.components);
}

} // namespace mbd::chroot
