#include "chroot/host.hpp"

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"

#include <algorithm>
#include <map>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace mbd::chroot {
namespace {

constexpr unsigned long long subid_count = 65536;

std::string read_if_exists(const fs::path& path)
{
    std::error_code ec;
    return fs::exists(path, ec) ? read_file(path) : std::string();
}

} // namespace

const std::string& host_arch()
{
    static const std::string arch = std::string(trim(run_checked({"dpkg", "--print-architecture"})));
    return arch;
}

void require_known_codename(std::string_view codename)
{
    bool any_list = false;
    for (const char* list : {"/usr/share/distro-info/debian.csv", "/usr/share/distro-info/ubuntu.csv"}) {
        std::string csv = read_if_exists(list);
        any_list = any_list || !csv.empty();
        for (auto line : split(csv, '\n')) {
            auto fields = split(line, ',');
            if (fields.size() > 2 && fields[2] == codename)
                return;
        }
    }
    if (!any_list)
        throw fail(Exit::environment, "no release list in '/usr/share/distro-info' (apt-get install distro-info-data)");
    throw fail(Exit::not_found, "unknown codename '{}' (not a Debian or Ubuntu release known to distro-info-data)",
               codename);
}

void require_known_arch(std::string_view arch)
{
    require_program("dpkg-architecture", "dpkg-dev");
    const std::string known_archs = run_checked({"dpkg-architecture", "-L"}); // split_ws() returns views into it
    for (auto known : split_ws(known_archs))
        if (known == arch)
            return;
    throw fail(Exit::not_found, "unknown architecture '{}' (not listed by 'dpkg-architecture -L')", arch);
}

std::string qemu_name(std::string_view arch)
{
    static const std::map<std::string_view, std::string_view> names = {
        {"alpha", "alpha"},     {"amd64", "x86_64"},     {"arm64", "aarch64"}, {"armel", "arm"},
        {"armhf", "arm"},       {"hppa", "hppa"},        {"i386", "i386"},     {"loong64", "loongarch64"},
        {"m68k", "m68k"},       {"mips64el", "mips64el"}, {"mipsel", "mipsel"}, {"powerpc", "ppc"},
        {"ppc64", "ppc64"},     {"ppc64el", "ppc64le"},  {"riscv64", "riscv64"}, {"s390x", "s390x"},
        {"sh4", "sh4"},         {"sparc64", "sparc64"},  {"x32", "x86_64"},
    };
    auto it = names.find(arch);
    return it == names.end() ? std::string() : std::string(it->second);
}

void require_runnable_arch(std::string_view arch, const fs::path& binfmt_dir)
{
    if (arch == host_arch())
        return;
    require_program("arch-test", "arch-test");
    if (run({"arch-test", "-n", std::string(arch)}).ok()) // runs without emulation (i386 on amd64)
        return;
    std::string qemu = qemu_name(arch);
    if (qemu.empty())
        throw fail(Exit::environment, "cannot run '{}' binaries on this '{}' machine and qemu-user cannot emulate it",
                   arch, host_arch());
    std::error_code ec;
    if (!fs::exists(binfmt_dir / "register", ec))
        throw fail(Exit::environment,
                   "cannot run '{}' binaries: binfmt_misc is not mounted on '{}' (as root: mount -t binfmt_misc "
                   "binfmt_misc {}) and needs a qemu-user handler (apt-get install qemu-user-static binfmt-support)",
                   arch, binfmt_dir.string(), binfmt_dir.string());
    fs::path handler = binfmt_dir / ("qemu-" + qemu);
    std::string state = read_if_exists(handler);
    if (!starts_with(state, "enabled"))
        throw fail(Exit::environment,
                   "cannot run '{}' binaries: no enabled qemu-user handler '{}' in binfmt_misc "
                   "(apt-get install qemu-user-static binfmt-support)",
                   arch, handler.string());
    log::debug("chroot", "'{}' runs through '{}'", arch, handler.string());
}

std::vector<SubidRange> parse_subids(std::string_view content)
{
    std::vector<SubidRange> out;
    for (auto line : split(content, '\n')) {
        if (line.empty() || line.front() == '#')
            continue;
        auto f = split(line, ':');
        if (f.size() != 3)
            continue;
        auto start = parse_uint(f[1]), count = parse_uint(f[2]);
        if (start && count)
            out.push_back({std::string(f[0]), *start, *count});
    }
    return out;
}

std::optional<std::string> unreachable_for(std::string_view user, const std::vector<fs::path>& paths)
{
    struct passwd* pw = ::getpwnam(std::string(user).c_str());
    if (!pw)
        return std::nullopt; // (said where the build drops to it, as the reason of that build)
    uid_t uid = pw->pw_uid;
    if (uid == 0)
        return std::nullopt;
    std::vector<gid_t> groups(64);
    int n = int(groups.size());
    if (::getgrouplist(pw->pw_name, pw->pw_gid, groups.data(), &n) < 0) {
        groups.resize(size_t(n));
        ::getgrouplist(pw->pw_name, pw->pw_gid, groups.data(), &n);
    }
    groups.resize(size_t(std::max(n, 0)));
    for (const auto& target : paths) {
        fs::path way;
        for (const auto& part : fs::absolute(target).lexically_normal()) {
            way /= part;
            struct stat st{};
            if (::stat(way.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
                break; // (what does not exist yet is made by the tools, as its parent allows)
            bool in_group = std::find(groups.begin(), groups.end(), st.st_gid) != groups.end();
            mode_t bit = st.st_uid == uid ? S_IXUSR : in_group ? S_IXGRP : S_IXOTH;
            if (st.st_mode & bit)
                continue;
            struct passwd* owner = ::getpwuid(st.st_uid);
            return fmt::format("build user '{}' cannot enter '{}' (mode {:04o}, owner {}): builds run as that user "
                               "and need to reach '{}'; allow it (chmod o+x '{}', or a group it is in) or move the "
                               "home out of it",
                               user, way.string(), st.st_mode & 07777, owner ? owner->pw_name : std::to_string(st.st_uid),
                               target.string(), way.string());
        }
    }
    return std::nullopt;
}

std::optional<std::string> subid_problem(std::string_view user, uid_t uid, std::string_view subuid,
                                         std::string_view subgid)
{
    auto ranges_uid = parse_subids(subuid), ranges_gid = parse_subids(subgid);
    auto has = [&](const std::vector<SubidRange>& ranges) {
        return std::any_of(ranges.begin(), ranges.end(), [&](const SubidRange& r) {
            return (r.owner == user || r.owner == std::to_string(uid)) && r.count >= subid_count;
        });
    };
    bool uid_ok = has(ranges_uid), gid_ok = has(ranges_gid);
    if (uid_ok && gid_ok)
        return std::nullopt;
    // Suggest a range after every range given so far, in either file.
    unsigned long long start = 100000;
    for (const auto* ranges : {&ranges_uid, &ranges_gid})
        for (const auto& r : *ranges)
            start = std::max(start, r.start + r.count);
    std::string range = fmt::format("{}-{}", start, start + subid_count - 1);
    std::string files, options;
    if (!uid_ok) {
        files = "'/etc/subuid'";
        options = "--add-subuids " + range;
    }
    if (!gid_ok) {
        files += fmt::format("{}'/etc/subgid'", files.empty() ? "" : " and ");
        options += fmt::format("{}--add-subgids {}", options.empty() ? "" : " ", range);
    }
    return fmt::format("no subordinate id range for user '{}' in {} (unshare mode needs {} ids): as root, run "
                       "'usermod {} {}' or add the line '{}:{}:{}' to {}",
                       user, files, subid_count, options, user, user, start, subid_count, files);
}

void require_unshare_ready()
{
    uid_t uid = ::geteuid();
    if (uid == 0)
        return;
    require_program("newuidmap", "uidmap");
    require_program("newgidmap", "uidmap");
    if (trim(read_if_exists("/proc/sys/kernel/unprivileged_userns_clone")) == "0")
        throw fail(Exit::environment, "unprivileged user namespaces are disabled "
                                      "(as root: sysctl -w kernel.unprivileged_userns_clone=1)");
    if (trim(read_if_exists("/proc/sys/user/max_user_namespaces")) == "0")
        throw fail(Exit::environment,
                   "user namespaces are disabled (as root: sysctl -w user.max_user_namespaces=15000)");
    const passwd* pw = ::getpwuid(uid);
    std::string user = pw ? pw->pw_name : std::to_string(uid);
    if (auto problem = subid_problem(user, uid, read_if_exists("/etc/subuid"), read_if_exists("/etc/subgid")))
        throw Error(Exit::environment, *problem);
}

void require_unpack_dir(const fs::path& dir, std::uintmax_t bytes)
{
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        throw fail(Exit::environment, "unpack directory '{}' (configuration key 'chroot.unpack_dir') does not exist",
                   dir.string());
    if (::geteuid() != 0 && !(st.st_mode & S_IWOTH))
        throw fail(Exit::environment,
                   "unpack directory '{}' (configuration key 'chroot.unpack_dir') must be world-writable like /tmp "
                   "(chmod 1777): the unshared user writes there",
                   dir.string());
    require_free_space(dir, bytes, "unpacking a chroot (configuration key 'chroot.unpack_dir')");
}

void require_free_space(const fs::path& dir, std::uintmax_t bytes, std::string_view purpose)
{
    struct statvfs st {};
    if (::statvfs(dir.c_str(), &st) != 0)
        throw sys_error(fmt::format("cannot read the free space of '{}'", dir.string()));
    std::uintmax_t free = std::uintmax_t(st.f_bavail) * st.f_frsize;
    log::debug("chroot", "'{}': {} free, {} needed for {}", dir.string(), free, bytes, purpose);
    if (free < bytes)
        throw fail(Exit::no_space, "not enough free space for {} in '{}': {} free, {} needed", purpose, dir.string(),
                   human_size(free), human_size(bytes));
}

std::string human_size(std::uintmax_t bytes)
{
    constexpr double mib = 1024.0 * 1024.0;
    if (bytes < 1024 * 1024)
        return fmt::format("{} KiB", (bytes + 1023) / 1024);
    if (bytes >= 1024 * 1024 * 1024ULL)
        return fmt::format("{:.1f} GiB", double(bytes) / (mib * 1024));
    return fmt::format("{:.0f} MiB", double(bytes) / mib);
}

} // namespace mbd::chroot
