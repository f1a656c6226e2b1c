#include "remote/serve.hpp"

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "core/wake.hpp"
#include "remote/status.hpp"
#include "remote/transport.hpp"

#include <cstdlib>
#include <unistd.h>

namespace mbd::remote {

std::string serve(Context& ctx, const std::vector<std::string>& args)
{
    std::vector<std::string> words = args;
    if (const char* forced = std::getenv("SSH_ORIGINAL_COMMAND")) {
        words.clear();
        for (auto w : split_ws(forced))
            words.emplace_back(w);
    }
    if (words.size() == 1 && words[0] == "status")
        return publish_status(ctx);
    if (words.size() == 1 && words[0] == "put") {
        ctx.db(); // the home's layout
        std::string out;
        for (const auto& name : receive_files(STDIN_FILENO, ctx.home().incoming()))
            out += "stored " + name + "\n";
        wake::raise(ctx.home(), wake::Pass::incoming);
        return out;
    }
    throw fail(Exit::usage, "serve: '{}' is not a verb of this service (status, put)", fmt::join(words, " "));
}

} // namespace mbd::remote
