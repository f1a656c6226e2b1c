#include "build/builddeps.hpp"

#include "core/process.hpp"
#include "core/strings.hpp"

namespace mbd::build {
namespace {

// A relation field's value on one line, runs of white space as one ("" when absent).
std::string field(const deb822::Paragraph& p, std::string_view name)
{
    std::string value = p.get(name), out;
    for (auto word : split_ws(value))
        out += (out.empty() ? "" : " ") + std::string(word);
    return out;
}

void append(std::string& list, std::string_view more)
{
    if (trim(more).empty())
        return;
    if (!list.empty())
        list += ", ";
    list += trim(more);
}

} // namespace

std::optional<BuildDeps> build_deps(const Request& r, const deb822::Paragraph& dsc)
{
    BuildDeps d;
    append(d.depends, "build-essential, fakeroot");
    if (r.lintian_mode != "disabled")
        append(d.depends, "lintian");
    append(d.depends, field(dsc, "Build-Depends"));
    append(d.conflicts, field(dsc, "Build-Conflicts"));
    if (r.arch_any) {
        append(d.depends, field(dsc, "Build-Depends-Arch"));
        append(d.conflicts, field(dsc, "Build-Conflicts-Arch"));
    }
    if (r.arch_all) {
        append(d.depends, field(dsc, "Build-Depends-Indep"));
        append(d.conflicts, field(dsc, "Build-Conflicts-Indep"));
    }
    append(d.depends, r.add_depends);
    if (d.depends.find('|') != std::string::npos)
        return std::nullopt;
    return d;
}

bool installed(const BuildDeps& deps, const Request& r, const std::filesystem::path& admindir, std::string& why)
{
    std::vector<std::string> cmd = {"dpkg-checkbuilddeps", "--admindir=" + admindir.string(), "-a",
                                    r.architecture,        "-d",
                                    deps.depends,          "-c",
                                    deps.conflicts};
    if (auto profiles = build_profiles(r); !profiles.empty())
        cmd.push_back("-P" + profiles);
    cmd.push_back("/dev/null"); // the relations are all given above
    RunOptions o;
    o.env = {"DEB_BUILD_ARCH=" + r.architecture}; // the chroot's, for :native
    auto res = run(cmd, o);
    if (res.ok())
        return true;
    why = std::string(trim(res.err.empty() ? res.out : res.err));
    return false;
}

std::string build_profiles(const Request& r)
{
    std::string profiles;
    for (auto p : split_ws(r.deb_build_profiles))
        profiles += (profiles.empty() ? "" : ",") + std::string(p);
    return profiles;
}

} // namespace mbd::build
