#include "core/fetch.hpp"

#include "core/process.hpp"
#include "core/strings.hpp"

namespace mbd {

std::optional<Error> download(const std::string& url, const std::filesystem::path& dest, int timeout_seconds)
{
    auto r = run({"/usr/lib/apt/apt-helper", "-oAPT::Sandbox::User=root", "-oAcquire::Retries=1", "download-file",
                  url, dest.string()},
                 {.timeout_seconds = timeout_seconds});
    if (r.ok())
        return std::nullopt;
    std::string why = r.timed_out ? std::string("timed out") : one_line(r.err, "E:");
    bool missing = why.find("404") != std::string::npos || why.find("File not found") != std::string::npos;
    return fail(missing ? Exit::not_found : Exit::tempfail, "cannot download '{}': {}", url, why);
}

} // namespace mbd
