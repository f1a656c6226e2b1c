// mbd-repo's text output, shared by its command groups.
#include "cli.hpp"

#include "core/log.hpp"
#include "core/strings.hpp"

namespace mbd::repo {

std::vector<std::string> comma_list(const std::vector<std::string>& args)
{
    std::vector<std::string> out;
    for (const auto& a : args)
        for (auto w : split(a, ','))
            if (!w.empty())
                out.emplace_back(w);
    return out;
}

std::string source_line(const Source& s)
{
    return fmt::format("{:<24} {:<10} {:<10} {:<12} {}\n", s.name, s.origin, s.codename, s.status.display(),
                       join(s.uris, " "));
}

std::string source_text(const Source& s)
{
    std::string ids;
    for (const auto& [k, v] : s.identifiers)
        ids += (ids.empty() ? "" : ", ") + k + "=" + v;
    return fmt::format("name:          {}\norigin:        {}\ncodename:      {}\nsuite:         {}\nuris:          {}\n"
                       "identifiers:   {}\ncodeversion:   {}\ncomponents:    {}\narchitectures: {}\n"
                       "release date:  {}\nstatus:        {}\n{}{}",
                       s.name, s.origin, s.codename, s.suite, join(s.uris, " "), ids, s.codeversion,
                       join(s.components, " "), join(s.architectures, " "), s.release_date, s.status.display(),
                       s.uri_used.empty() ? "" : "checked at:    " + s.uri_used + "\n",
                       s.check_message.empty() ? "" : "check failed:  " + s.check_message + "\n");
}

std::string layout_text(const Layout& l)
{
    std::string out = fmt::format("layout: {}{}\n", l.name, l.builtin ? " (built in)" : "");
    out += fmt::format("version rule: {} / experimental: {}\n", l.version_rule.value_or("none"),
                       l.experimental_version_rule.value_or("none"));
    if (!l.meta.empty()) {
        out += "meta:";
        for (const auto& [k, v] : l.meta)
            out += " " + k + "=" + v;
        out += "\n";
    }
    out += fmt::format("  {:<14} {:<10} {:<12} {:<12} {}\n", "suite", "uploadable", "experimental", "migrates to",
                       "rollbacks");
    for (const auto& s : l.suites)
        out += fmt::format("  {:<14} {:<10} {:<12} {:<12} {}\n", s.name, s.uploadable ? "yes" : "no",
                           s.experimental ? "yes" : "no", s.migrates_to.value_or("-"), s.rollbacks);
    return out;
}

std::string dist_text(const Distribution& d)
{
    std::string extra;
    for (const auto& e : d.extra_sources)
        extra += fmt::format("{}{}:{}", extra.empty() ? "" : " ", e.source, e.priority);
    return fmt::format("{}: source {}, extra [{}], components [{}], architectures [{}] (all: {}), lintian {}{}\n",
                       d.codename, d.base_source, extra, join(d.components, " "), join(d.architectures, " "), d.arch_all,
                       d.options.lintian_mode, d.indices ? ", indices [" + *d.indices + "]" : "");
}

std::string repo_text(const Repository& r)
{
    std::string dists;
    for (const auto& d : r.dists)
        dists += fmt::format("{}{}{}{}", dists.empty() ? "" : " ", d.codename,
                             d.architectures.empty() ? "" : ":" + join(d.architectures, ","),
                             d.retire_after ? "(retiring " + iso_time(d.retire_after) + ")" : "");
    return fmt::format("{:<12} {:<12} {:<18} {}\n{}", r.id, r.status.display(), r.layout, dists,
                       r.changes.empty() ? "" : "  changed: " + r.changes + "\n");
}

std::string holding_text(const Holding& h)
{
    return fmt::format("{:<24} {:<20} {}\n", h.source, h.version, h.dist);
}

void print_published(const std::vector<std::string>& dists)
{
    if (!dists.empty())
        log::info("published {}", join(dists, ", "));
}

} // namespace mbd::repo
