// chroot/proxy: the HTTP proxy chroots fetch packages through (config 'apt.proxy'),
// such as a local apt-cacher-ng: each package then comes from the mirror once and
// every later chroot update and build session gets it from the proxy's cache. apt in
// the chroot still checks every Release signature and every file's hash against the
// signed indices, so the proxy is trusted with nothing.
#pragma once

#include <string>
#include <string_view>

namespace mbd {
class Context;
}

namespace mbd::chroot {

// The configured proxy, checked: "" (none) or http://HOST[:PORT][/] with HOST a name,
// IPv4 or [IPv6] address. Error(Exit::config) for anything else (it goes into apt's
// configuration and a process environment).
std::string apt_proxy(const Context& ctx);

// Throws Error(Exit::config) unless url is "" or such a URL.
void require_proxy_url(std::string_view url);

// apt.conf text that sends http:// downloads through url, but those from this host
// (a local repository or peer) directly.
std::string apt_proxy_conf(std::string_view url);

} // namespace mbd::chroot
