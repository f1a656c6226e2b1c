#include "app/mail.hpp"

#include "build/queue.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/strings.hpp"
#include "keys/instance.hpp"

#include <algorithm>

namespace mbd::app {
namespace {

namespace fs = std::filesystem;

constexpr size_t tail_lines = 40;

std::string tail(const std::string& text, size_t lines)
{
    size_t pos = text.size();
    if (pos && text[pos - 1] == '\n')
        --pos;
    for (size_t n = 0; pos > 0; --pos)
        if (text[pos - 1] == '\n' && ++n == lines)
            break;
    return text.substr(pos);
}

// The status site's URL, when publish.url says where it is.
std::string site_url(const Config& config)
{
    std::string url = config.get("publish.url");
    while (!url.empty() && url.back() == '/')
        url.pop_back();
    constexpr std::string_view repositories = "/repositories";
    if (!url.ends_with(repositories))
        return {};
    return url.substr(0, url.size() - repositories.size()) + "/";
}

// 'build 12: failed: ...' -> the site's log of build 12, when this instance ran it.
std::string log_link(Context& ctx, const Event& e)
{
    std::string site = site_url(ctx.config());
    if (site.empty() || !e.message.starts_with("build "))
        return {};
    auto id = e.message.substr(6, e.message.find(':') - 6);
    auto key = keys::find_instance_key(ctx);
    if (!key)
        return {};
    std::string name = build::request_key(key->info.fingerprint, id) + ".log";
    std::error_code ec;
    if (!fs::is_regular_file(ctx.home().root / "site" / "logs" / name, ec))
        return {};
    return site + "logs/" + name;
}

} // namespace

Mail compose_mail(Context& ctx, const Event& e)
{
    Mail m;
    m.subject = fmt::format("mbd: {} {} {} {}{}", e.type, e.source, e.version, e.distribution,
                            e.architecture.empty() ? "" : "/" + e.architecture);
    m.body = fmt::format("{}\n\n{}\n", iso_time(e.time), describe(e));
    std::error_code ec;
    fs::path detail = e.detail;
    if (e.type == "REJECTED" && !e.detail.empty() && fs::is_regular_file(detail / "REASON", ec)) {
        m.body += "\nWhy (REASON, kept with the upload in " + e.detail + "):\n\n" + read_file(detail / "REASON");
    } else if (e.type == "FAILED" && !e.detail.empty() && fs::is_regular_file(detail, ec)) {
        m.body += fmt::format("\nThe last {} lines of the build log:\n\n{}\n", tail_lines,
                              tail(read_file(detail), tail_lines));
        if (auto link = log_link(ctx, e); !link.empty())
            m.body += "\nThe whole log: " + link + "\n";
        else
            m.body += "\nThe whole log: " + e.detail + " (on " + ctx.config().get("identity") + ")\n";
    }
    return m;
}

void send_event_mail(Context& ctx)
{
    try {
        auto r = dispatch_mail(ctx, [&ctx](const Event& e) { return compose_mail(ctx, e); });
        if (r.queued || r.sent || r.failed)
            log::info("mail: {} queued, {} sent, {} not taken by sendmail ({} waiting)", r.queued, r.sent, r.failed,
                      r.waiting);
    } catch (const Error& e) {
        log::warning("mail: {}", e.what());
    }
}

} // namespace mbd::app
