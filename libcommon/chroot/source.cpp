#include "chroot/source.hpp"

#include "chroot/host.hpp"
#include "core/error.hpp"
#include "core/strings.hpp"

#include <fcntl.h>
#include <unistd.h>

namespace mbd::chroot {

Source resolve_source(const Config& config, std::string_view codename, std::string mirror,
                      std::filesystem::path keyring)
{
    require_known_codename(codename);
    Source source;
    source.mirror = mirror.empty() ? config.get("mirror") : std::move(mirror);
    if (source.mirror.find("://") == std::string::npos || split_ws(source.mirror).size() != 1)
        throw fail(Exit::usage, "invalid mirror URL '{}'", source.mirror);
    source.keyring = std::filesystem::absolute(keyring.empty() ? std::filesystem::path(default_keyring) : keyring);
    if (split_ws(source.keyring.string()).size() != 1)
        throw fail(Exit::usage, "keyring path '{}' must not contain white space", source.keyring.string());
    int fd = ::open(source.keyring.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw sys_error(fmt::format("cannot read keyring '{}'", source.keyring.string()));
    ::close(fd);
    return source;
}

std::string keyring_inside(const Source& source)
{
    return ends_with(source.keyring.string(), ".asc") ? "/etc/apt/keyrings/mbd-source.asc"
                                                      : "/etc/apt/keyrings/mbd-source.gpg";
}

std::string sources_line(const Source& source, std::string_view codename)
{
    return fmt::format("deb [signed-by={}] {} {} {}", keyring_inside(source), source.mirror, codename,
                       source.components);
}

} // namespace mbd::chroot
