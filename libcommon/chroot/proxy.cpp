#include "chroot/proxy.hpp"

#include "db/context.hpp"
#include "core/error.hpp"

#include <fmt/format.h>
#include <regex>

namespace mbd::chroot {

void require_proxy_url(std::string_view url)
{
    static const std::regex form(R"(http://([A-Za-z0-9]([A-Za-z0-9.-]{0,252})?|\[[0-9A-Fa-f:.]{2,45}\])(:[0-9]{1,5})?/?)");
    if (!url.empty() && !std::regex_match(url.begin(), url.end(), form))
        throw fail(Exit::config, "apt.proxy '{}' is not an http:// proxy URL (http://HOST[:PORT]/, e.g. a local "
                                 "apt-cacher-ng: http://127.0.0.1:3142/)",
                   url);
}

std::string apt_proxy(const Context& ctx)
{
    std::string url = ctx.config().get("apt.proxy");
    require_proxy_url(url);
    return url;
}

std::string apt_proxy_conf(std::string_view url)
{
    return fmt::format("// written by mbd (config apt.proxy): downloads go through this proxy\n"
                       "Acquire::http::Proxy \"{}\";\n"
                       "Acquire::http::Proxy::localhost \"DIRECT\";\n"
                       "Acquire::http::Proxy::127.0.0.1 \"DIRECT\";\n"
                       "Acquire::http::Proxy::[::1] \"DIRECT\";\n",
                       url);
}

} // namespace mbd::chroot
