#include "remote/transport.hpp"

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/names.hpp"
#include "core/parts.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "core/wake.hpp"
#include "debian/control_files.hpp"
#include "remote/status.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <fcntl.h>
#include <fstream>
#include <unistd.h>

namespace mbd::remote {
namespace {

constexpr std::uintmax_t max_status_size = 1 << 20;

std::string tail_of(std::string_view text)
{
    std::string t(trim(text));
    return t.size() > 1000 ? "..." + t.substr(t.size() - 1000) : t;
}

class FileTransport : public Transport {
public:
    explicit FileTransport(Url url) : url_(std::move(url)) {}

    std::string fetch_status() override
    {
        auto file = status_file(Home{url_.path});
        std::error_code ec;
        if (!std::filesystem::exists(file, ec))
            throw fail(Exit::tempfail,
                       "cannot reach '{}': no status document '{}' yet: the peer writes it when 'mbd-remote status' "
                       "or 'mbd-remote run' runs there (its units run them once it has an instance key)",
                       url_.text, file.string());
        try {
            return read_file_nofollow(file, max_status_size);
        } catch (const Error& e) {
            throw fail(Exit::tempfail, "cannot reach '{}': {}", url_.text, e.what());
        }
    }

    void put(const std::vector<std::filesystem::path>& files) override
    {
        auto incoming = Home{url_.path}.incoming();
        std::error_code ec;
        if (!std::filesystem::is_directory(incoming, ec))
            throw fail(Exit::tempfail, "cannot reach '{}': no directory '{}'", url_.text, incoming.string());
        parts::remove_stale(incoming);
        try {
            for (const auto& f : files)
                copy_atomic(f, incoming / f.filename());
        } catch (const Error& e) {
            throw fail(Exit::tempfail, "cannot send to '{}': {}", url_.text, e.what());
        }
        wake::raise(Home{url_.path}, wake::Pass::incoming);
    }

private:
    Url url_;
};

class SshTransport : public Transport {
public:
    SshTransport(Context& ctx, Url url) : url_(std::move(url)), tmp_(ctx.home().tmp())
    {
        for (auto w : split_ws(ctx.config().get("remote.ssh_command")))
            command_.emplace_back(w);
        if (command_.empty())
            throw fail(Exit::config, "'remote.ssh_command' is empty");
        timeout_ = int(ctx.config().get_int("remote.timeout"));
        // options given in remote.ssh_command come first, so they win (ssh keeps the first value)
        command_.insert(command_.end(), {"-o", "BatchMode=yes", "-o", "ConnectTimeout=30"});
        if (url_.port)
            command_.insert(command_.end(), {"-p", std::to_string(url_.port)});
        command_.push_back(url_.user.empty() ? url_.host : url_.user + "@" + url_.host);
    }

    std::string fetch_status() override { return call("status", {}); }

    void put(const std::vector<std::filesystem::path>& files) override
    {
        make_dirs(tmp_);
        TempDir dir(tmp_, "put");
        auto bundle = dir.path() / "stream";
        {
            std::ofstream out(bundle, std::ios::binary);
            out << "mbd-put 1\n";
            for (const auto& f : files) {
                auto size = std::filesystem::file_size(f);
                out << fmt::format("file {} {} {}\n", f.filename().string(), size, sha256_file(f));
                std::ifstream in(f, std::ios::binary);
                out << in.rdbuf();
            }
            out << "end\n";
            if (!out.flush())
                throw sys_error(fmt::format("cannot write '{}'", bundle.string()));
        }
        call("put", bundle);
    }

private:
    std::string call(const std::string& verb, const std::filesystem::path& input)
    {
        auto argv = command_;
        argv.push_back(verb);
        RunOptions options;
        options.input_file = input;
        options.timeout_seconds = timeout_;
        auto r = run(argv, options);
        if (!r.ok())
            throw fail(Exit::tempfail, "cannot {} '{}': ssh {}: {}", verb == "put" ? "send to" : "reach", url_.text,
                       r.timed_out ? "timed out" : fmt::format("exited with {}", r.status), tail_of(r.err));
        return r.out;
    }

    Url url_;
    std::filesystem::path tmp_;
    std::vector<std::string> command_;
    int timeout_ = 600;
};

// Buffered reads from a file descriptor.
class Reader {
public:
    explicit Reader(int fd) : fd_(fd) {}

    // One line without its "\n"; nullopt at the end of input.
    std::optional<std::string> line(size_t max)
    {
        std::string out;
        while (true) {
            if (pos_ == len_ && !fill())
                return out.empty() ? std::nullopt : std::optional(out);
            char c = buf_[pos_++];
            if (c == '\n')
                return out;
            out.push_back(c);
            if (out.size() > max)
                throw fail(Exit::rejected, "put stream: line longer than {} bytes", max);
        }
    }

    // Exactly n bytes, handed to sink in pieces.
    template <typename Sink> void bytes(std::uintmax_t n, Sink sink)
    {
        while (n > 0) {
            if (pos_ == len_ && !fill())
                throw Error(Exit::rejected, "put stream: it ends in the middle of a file");
            size_t take = size_t(std::min<std::uintmax_t>(n, len_ - pos_));
            sink(std::string_view(buf_ + pos_, take));
            pos_ += take;
            n -= take;
        }
    }

private:
    bool fill()
    {
        while (true) {
            ssize_t got = ::read(fd_, buf_, sizeof buf_);
            if (got < 0 && errno == EINTR)
                continue;
            if (got < 0)
                throw sys_error("cannot read the put stream");
            pos_ = 0;
            len_ = size_t(got);
            return got > 0;
        }
    }
    int fd_;
    char buf_[1 << 16];
    size_t pos_ = 0, len_ = 0;
};


void receive_one(Reader& in, const std::filesystem::path& dir, const std::string& name, std::uintmax_t size,
                 const std::string& sha256)
{
    auto part = dir / parts::part_name(name);
    int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        throw sys_error(fmt::format("cannot create '{}'", part.string()));
    Hasher hash(Hasher::Algo::sha256);
    try {
        in.bytes(size, [&](std::string_view chunk) {
            hash.update(chunk);
            while (!chunk.empty()) {
                ssize_t w = ::write(fd, chunk.data(), chunk.size());
                if (w < 0 && errno == EINTR)
                    continue;
                if (w < 0)
                    throw sys_error(fmt::format("cannot write '{}'", part.string()));
                chunk.remove_prefix(size_t(w));
            }
        });
        if (::fsync(fd) != 0)
            throw sys_error(fmt::format("cannot write '{}'", part.string()));
        ::close(fd);
        fd = -1;
        if (hash.hex() != sha256)
            throw fail(Exit::rejected, "put stream: SHA256 of '{}' does not match", name);
        if (::rename(part.c_str(), (dir / name).c_str()) != 0)
            throw sys_error(fmt::format("cannot rename '{}'", part.string()));
    } catch (...) {
        if (fd >= 0)
            ::close(fd);
        ::unlink(part.c_str());
        throw;
    }
}

// Letters, digits and the given punctuation, not starting with '-' (never an ssh option).
bool plain_word(std::string_view w, std::string_view punctuation)
{
    return !w.empty() && !w.starts_with("-") && std::all_of(w.begin(), w.end(), [&](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || punctuation.find(c) != std::string_view::npos;
    });
}

} // namespace

Url parse_url(std::string_view text)
{
    Url url;
    url.text = text;
    auto bad = [&](std::string_view why) {
        return fail(Exit::usage, "invalid remote URL '{}': {} (use ssh://[user@]host[:port] or file:///path)", text,
                    why);
    };
    if (text.starts_with("file://")) {
        url.kind = Url::Kind::file;
        std::string_view path = text.substr(7);
        if (!path.starts_with("/"))
            throw bad("the path must be absolute");
        url.path = std::filesystem::path(std::string(path)).lexically_normal();
        return url;
    }
    if (!text.starts_with("ssh://"))
        throw bad("unknown scheme");
    url.kind = Url::Kind::ssh;
    std::string_view rest = text.substr(6);
    if (rest.ends_with("/"))
        rest.remove_suffix(1);
    if (rest.find('/') != std::string_view::npos)
        throw bad("an ssh URL has no path (the peer's forced command knows its home)");
    if (auto at = rest.rfind('@'); at != std::string_view::npos) {
        url.user = rest.substr(0, at);
        rest = rest.substr(at + 1);
        if (!plain_word(url.user, "._-"))
            throw bad("bad user name");
    }
    std::string_view host = rest, after;
    if (rest.starts_with("[")) { // [IPv6]
        auto close = rest.find(']');
        if (close == std::string_view::npos)
            throw bad("unbalanced '['");
        host = rest.substr(1, close - 1);
        after = rest.substr(close + 1);
    } else if (auto colon = rest.find(':'); colon != std::string_view::npos) {
        host = rest.substr(0, colon);
        after = rest.substr(colon);
    }
    if (!after.empty()) {
        auto port = after.starts_with(":") ? parse_int(after.substr(1)) : std::nullopt;
        if (!port || *port < 1 || *port > 65535)
            throw bad("bad port");
        url.port = int(*port);
    }
    if (!plain_word(host, ".:-"))
        throw bad("bad host name");
    url.host = host;
    return url;
}

std::unique_ptr<Transport> open_transport(Context& ctx, const Url& url)
{
    if (url.kind == Url::Kind::ssh)
        return std::make_unique<SshTransport>(ctx, url);
    return std::make_unique<FileTransport>(url);
}

std::vector<std::string> receive_files(int fd, const std::filesystem::path& dir)
{
    parts::remove_stale(dir);
    Reader in(fd);
    if (in.line(64) != "mbd-put 1")
        throw Error(Exit::rejected, "put stream: not an mbd put stream (protocol 1)");
    std::vector<std::string> stored;
    while (true) {
        auto line = in.line(4096);
        if (!line)
            throw Error(Exit::rejected, "put stream: it ends without 'end'");
        if (*line == "end")
            break;
        auto w = split_ws(*line);
        auto size = w.size() == 4 && w[0] == "file" ? parse_uint(w[2]) : std::nullopt;
        if (!size || w[3].size() != 64)
            throw fail(Exit::rejected, "put stream: malformed header '{}'", *line);
        std::string name(w[1]);
        if (auto why = names::problem(names::file, name))
            throw fail(Exit::rejected, "put stream: {}", *why);
        if (name.starts_with("."))
            throw fail(Exit::rejected, "put stream: file name '{}' starts with a dot", name);
        receive_one(in, dir, name, *size, lower(w[3]));
        stored.push_back(name);
        log::debug("remote", "received '{}' ({} bytes)", name, *size);
    }
    fsync_dir(dir);
    return stored;
}

} // namespace mbd::remote
