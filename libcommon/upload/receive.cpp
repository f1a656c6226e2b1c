#include "upload/receive.hpp"

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/names.hpp"
#include "core/parts.hpp"
#include "core/strings.hpp"
#include "core/wake.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <climits>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mbd::upload {
namespace {

// ---- the session's end by signal -------------------------------------------------

volatile std::sig_atomic_t caught_signal = 0;

void on_signal(int sig)
{
    caught_signal = sig;
}

constexpr int ending_signals[] = {SIGHUP, SIGINT, SIGTERM};

// While a session runs: SIGPIPE ignored (a write to a client that went away fails with
// EPIPE instead of killing us with parts left behind); SIGHUP, SIGINT and SIGTERM
// blocked except while waiting for the client (ppoll), where they end the session
// through an Error, so that the parts are removed on the way out.
class SignalScope {
public:
    SignalScope()
    {
        caught_signal = 0;
        sigset_t ending;
        sigemptyset(&ending);
        for (int s : ending_signals)
            sigaddset(&ending, s);
        pthread_sigmask(SIG_BLOCK, &ending, &old_mask_);
        wait_mask_ = old_mask_;
        for (int s : ending_signals)
            sigdelset(&wait_mask_, s);
        struct sigaction sa{};
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        for (size_t i = 0; i < std::size(ending_signals); ++i)
            sigaction(ending_signals[i], &sa, &old_[i]);
        struct sigaction ignore{};
        ignore.sa_handler = SIG_IGN;
        sigemptyset(&ignore.sa_mask);
        sigaction(SIGPIPE, &ignore, &old_pipe_);
    }

    ~SignalScope()
    {
        sigaction(SIGPIPE, &old_pipe_, nullptr);
        for (size_t i = 0; i < std::size(ending_signals); ++i)
            sigaction(ending_signals[i], &old_[i], nullptr);
        pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
    }

    SignalScope(const SignalScope&) = delete;
    SignalScope& operator=(const SignalScope&) = delete;

    // Until one of fds is ready (or has hung up: the read or write says so).
    void wait(struct pollfd* fds, nfds_t n)
    {
        while (true) {
            if (caught_signal)
                throw fail(Exit::tempfail, "the session was ended by signal {} ({})", int(caught_signal),
                           ::strsignal(caught_signal));
            int r = ::ppoll(fds, n, nullptr, &wait_mask_);
            if (r > 0)
                return;
            if (r < 0 && errno != EINTR)
                throw sys_error("cannot wait for the client");
        }
    }

private:
    sigset_t old_mask_{}, wait_mask_{};
    struct sigaction old_[std::size(ending_signals)]{};
    struct sigaction old_pipe_{};
};

// ---- the connection --------------------------------------------------------------

// Reads are buffered; answers are queued and written whenever the client can take
// them, also while we wait for its next request, so that a client that sends many
// requests before it reads the answers (paramiko pipelines a hundred writes) never
// finds us stuck writing while it is stuck sending. Only when more than max_queued
// bytes of answers wait do we stop reading until they are gone.
class Channel {
public:
    Channel(int in, int out, SignalScope& signals) : in_(in), out_(out), signals_(signals) {}

    // Exactly n bytes into dst. false when the input ends before the first of them and
    // may (at_boundary); Error(Exit::tempfail) when it ends anywhere else.
    bool read(char* dst, size_t n, bool at_boundary = false)
    {
        size_t got = 0;
        while (got < n) {
            if (pos_ == len_ && !fill()) {
                if (got == 0 && at_boundary)
                    return false;
                throw Error(Exit::tempfail, "the connection ended in the middle of a message");
            }
            size_t take = std::min(n - got, len_ - pos_);
            std::memcpy(dst + got, buf_ + pos_, take);
            pos_ += take;
            got += take;
        }
        return true;
    }

    // Up to n bytes that are already buffered, or read now; 0 at the end of input.
    size_t some(char* dst, size_t n)
    {
        if (pos_ == len_ && !fill())
            return 0;
        size_t take = std::min(n, len_ - pos_);
        std::memcpy(dst, buf_ + pos_, take);
        pos_ += take;
        return take;
    }

    // One byte; -1 at the end of input.
    int byte()
    {
        if (pos_ == len_ && !fill())
            return -1;
        return static_cast<unsigned char>(buf_[pos_++]);
    }

    // Queue an answer.
    void write(std::string_view data)
    {
        queued_.append(data);
        flush_if_full();
    }

    // Write all queued answers.
    void flush()
    {
        while (sent_ < queued_.size()) {
            struct pollfd p{out_, POLLOUT, 0};
            signals_.wait(&p, 1);
            write_some();
        }
    }

private:
    static constexpr size_t max_queued = 1 << 20;

    bool fill()
    {
        flush_if_full();
        while (true) {
            struct pollfd p[2] = {{in_, POLLIN, 0}, {out_, POLLOUT, 0}};
            bool pending = sent_ < queued_.size();
            signals_.wait(p, pending ? 2 : 1);
            if (pending && p[1].revents)
                write_some();
            if (!p[0].revents)
                continue;
            ssize_t got = ::read(in_, buf_, sizeof buf_);
            if (got < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (got < 0)
                throw fail(Exit::tempfail, "cannot read from the client: {}", std::strerror(errno));
            pos_ = 0;
            len_ = size_t(got);
            return got > 0;
        }
    }

    void flush_if_full()
    {
        if (queued_.size() - sent_ > max_queued)
            flush();
    }

    // Write what the client can take now without blocking: on a socket as much as
    // fits (MSG_DONTWAIT), on a pipe that poll() called writable one PIPE_BUF.
    void write_some()
    {
        std::string_view data(queued_.data() + sent_, queued_.size() - sent_);
        ssize_t w = ::send(out_, data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w < 0 && errno == ENOTSOCK)
            w = ::write(out_, data.data(), std::min<size_t>(data.size(), PIPE_BUF));
        if (w < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (w < 0 && (errno == EPIPE || errno == ECONNRESET))
            throw Error(Exit::tempfail, "the client went away");
        if (w < 0)
            throw fail(Exit::tempfail, "cannot answer the client: {}", std::strerror(errno));
        sent_ += size_t(w);
        if (sent_ == queued_.size()) {
            queued_.clear();
            sent_ = 0;
        }
    }

    int in_, out_;
    SignalScope& signals_;
    char buf_[1 << 16];
    size_t pos_ = 0, len_ = 0;
    std::string queued_; // answers; the first sent_ bytes are written
    size_t sent_ = 0;
};

// What a client sent, fit for a message.
std::string shown(std::string_view text)
{
    return printable(text, 200);
}

// Why NAME may not be stored in incoming/, or nullopt.
std::optional<std::string> name_problem(std::string_view name)
{
    if (auto why = names::problem(names::file, name))
        return why;
    if (name.starts_with("."))
        return fmt::format("file name '{}' starts with a dot", shown(name));
    return std::nullopt;
}

// Whether something named NAME is in dir (or cannot be looked at: then it counts as there).
bool in_dir(const std::filesystem::path& dir, const std::string& name)
{
    struct stat st{};
    return ::lstat((dir / name).c_str(), &st) == 0 || errno != ENOENT;
}

// pwrite all of data at offset; errno on failure.
int write_at(int fd, std::string_view data, std::uint64_t offset)
{
    while (!data.empty()) {
        ssize_t w = ::pwrite(fd, data.data(), data.size(), off_t(offset));
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno;
        if (w == 0)
            return EIO;
        data.remove_prefix(size_t(w));
        offset += std::uint64_t(w);
    }
    return 0;
}

// What the session did not take: a warning on stderr (ssh shows it to the client), and
// the first one kept for the caller.
void note_refusal(Received& r, const std::string& message)
{
    log::warning("refused: {}", message);
    if (r.refused.empty())
        r.refused = message;
}

// ---- SFTP version 3 --------------------------------------------------------------

namespace fxp {
constexpr std::uint8_t init = 1, version = 2, open = 3, close = 4, read = 5, write = 6, lstat = 7, fstat = 8,
                       setstat = 9, fsetstat = 10, opendir = 11, readdir = 12, remove = 13, mkdir = 14, rmdir = 15,
                       realpath = 16, stat = 17, rename = 18, readlink = 19, symlink = 20, status = 101,
                       handle = 102, name = 104, attrs = 105, extended = 200;
} // namespace fxp
namespace fx {
constexpr std::uint32_t ok = 0, no_such_file = 2, permission_denied = 3, failure = 4, bad_message = 5,
                        op_unsupported = 8;
} // namespace fx
namespace fxf {
constexpr std::uint32_t read = 0x01, write = 0x02, append = 0x04, creat = 0x08;
} // namespace fxf
namespace attr {
constexpr std::uint32_t size = 0x01, permissions = 0x04;
} // namespace attr

// A big-endian uint32 (SFTP's byte order).
std::uint32_t be32(const char* b)
{
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i)
        v = (v << 8) | static_cast<unsigned char>(b[i]);
    return v;
}

struct Truncated {}; // a packet shorter than what it says it holds

// Reads a packet's body (which must outlive it) from the front.
class Packet {
public:
    explicit Packet(std::string_view data) : d_(data) {}
    std::uint8_t u8() { return static_cast<std::uint8_t>(take(1)[0]); }
    std::uint32_t u32() { return be32(take(4).data()); }
    std::uint64_t u64()
    {
        std::uint64_t hi = u32();
        return (hi << 32) | u32();
    }
    std::string_view str() { return take(u32()); }

private:
    std::string_view take(std::uint64_t n)
    {
        if (n > d_.size() - pos_)
            throw Truncated{};
        std::string_view v(d_.data() + pos_, size_t(n));
        pos_ += size_t(n);
        return v;
    }
    std::string_view d_;
    size_t pos_ = 0;
};

class Reply {
public:
    explicit Reply(std::uint8_t type) { u8(type); }
    Reply& u8(std::uint8_t v)
    {
        b_.push_back(char(v));
        return *this;
    }
    Reply& u32(std::uint32_t v)
    {
        for (int shift = 24; shift >= 0; shift -= 8)
            b_.push_back(char((v >> shift) & 0xff));
        return *this;
    }
    Reply& u64(std::uint64_t v)
    {
        u32(std::uint32_t(v >> 32));
        return u32(std::uint32_t(v));
    }
    Reply& str(std::string_view s)
    {
        u32(std::uint32_t(s.size()));
        b_.append(s);
        return *this;
    }
    std::string framed() const
    {
        auto n = std::uint32_t(b_.size());
        std::string out{char(n >> 24), char(n >> 16), char(n >> 8), char(n)};
        return out + b_;
    }

private:
    std::string b_;
};

class SftpSession {
public:
    SftpSession(Channel& ch, const std::filesystem::path& dir, Received& r) : ch_(ch), dir_(dir), r_(r) {}

    void run()
    {
        std::string body;
        if (!next(body))
            return;
        {
            Packet p(body);
            std::uint8_t type = 0;
            try {
                type = p.u8();
                p.u32(); // the client's version: we answer 3 whatever it is
            } catch (const Truncated&) {
                type = 0;
            }
            if (type != fxp::init)
                throw Error(Exit::rejected, "sftp: the session does not start with INIT");
            send(Reply(fxp::version).u32(3));
        }
        while (next(body))
            dispatch(Packet(body));
        if (!handles_.empty()) {
            std::vector<std::string> open;
            for (const auto& [h, f] : handles_)
                open.push_back("'" + f.part.name() + "'");
            handles_.clear(); // their parts go
            throw fail(Exit::tempfail, "sftp: the session ended before {} {} closed: not stored",
                       fmt::join(open, ", "), open.size() == 1 ? "was" : "were");
        }
    }

private:
    struct Open {
        parts::Part part;
        std::string failure; // why a write failed: the file is not stored
    };

    // The next packet's body; false at the end of input between packets.
    bool next(std::string& body)
    {
        char len_bytes[4];
        if (!ch_.read(len_bytes, 4, true))
            return false;
        std::uint32_t len = be32(len_bytes);
        if (len == 0)
            throw Error(Exit::rejected, "sftp: an empty packet");
        if (len > max_sftp_packet) {
            char head[5]; // its type and id: the answer names the request
            if (ch_.read(head, 5, true))
                status(be32(head + 1), fx::bad_message, "packet too long");
            throw fail(Exit::rejected, "sftp: a packet of {} bytes (at most {})", len, max_sftp_packet);
        }
        body.resize(len);
        ch_.read(body.data(), len);
        return true;
    }

    void send(const Reply& r) { ch_.write(r.framed()); }

    void status(std::uint32_t id, std::uint32_t code, std::string_view message)
    {
        send(Reply(fxp::status).u32(id).u32(code).str(message).str(""));
    }

    void refuse(std::uint32_t id, std::uint32_t code, const std::string& message)
    {
        note_refusal(r_, message);
        status(id, code, message);
    }

    void dispatch(Packet p)
    {
        std::uint8_t type = 0;
        std::uint32_t id = 0;
        bool have_id = false;
        try {
            type = p.u8();
            if (type == fxp::init)
                throw Error(Exit::rejected, "sftp: INIT in the middle of a session");
            id = p.u32();
            have_id = true;
            request(type, id, p);
        } catch (const Truncated&) {
            if (have_id)
                status(id, fx::bad_message, "malformed packet");
            throw fail(Exit::rejected, "sftp: a malformed packet (type {})", type);
        }
    }

    void request(std::uint8_t type, std::uint32_t id, Packet& p)
    {
        switch (type) {
        case fxp::realpath: {
            auto v = resolve_virtual(p.str());
            if (!exists(v))
                return status(id, fx::no_such_file, "no such file");
            Reply r(fxp::name);
            r.u32(id).u32(1).str(v.path).str(v.path).u32(0);
            return send(r);
        }
        case fxp::stat:
        case fxp::lstat: {
            auto v = resolve_virtual(p.str());
            if (!exists(v))
                return status(id, fx::no_such_file, "no such file");
            Reply r(fxp::attrs);
            r.u32(id);
            attributes(r, v);
            return send(r);
        }
        case fxp::fstat: {
            auto* f = find(p.str());
            if (!f)
                return status(id, fx::failure, "no such handle");
            struct stat st{};
            if (::fstat(f->part.fd(), &st) != 0)
                return status(id, fx::failure, std::strerror(errno));
            Reply r(fxp::attrs);
            r.u32(id).u32(attr::size | attr::permissions).u64(std::uint64_t(st.st_size)).u32(S_IFREG | 0644);
            return send(r);
        }
        case fxp::open: {
            auto path = p.str();
            auto flags = p.u32(); // then attributes: not kept
            return open(id, path, flags);
        }
        case fxp::write: {
            auto handle = p.str();
            auto offset = p.u64();
            auto data = p.str();
            return write(id, handle, offset, data);
        }
        case fxp::close:
            return close(id, p.str());
        case fxp::setstat:
            return status(id, exists(resolve_virtual(p.str())) ? fx::ok : fx::no_such_file, "");
        case fxp::fsetstat: // modes and times of an upload are not kept: accepted, ignored
            return find(p.str()) ? status(id, fx::ok, "") : status(id, fx::failure, "no such handle");
        case fxp::opendir:
            return refuse(id, fx::permission_denied,
                          fmt::format("listing is not allowed: '{}' (an upload key only stores files in incoming)",
                                      shown(p.str())));
        case fxp::readdir:
            return refuse(id, fx::permission_denied, "listing is not allowed");
        case fxp::read:
            return refuse(id, fx::permission_denied, "reading back is not allowed");
        case fxp::remove:
            return refuse(id, fx::permission_denied, fmt::format("removing is not allowed: '{}'", shown(p.str())));
        case fxp::rename:
            return refuse(id, fx::permission_denied, fmt::format("renaming is not allowed: '{}'", shown(p.str())));
        case fxp::mkdir:
            return refuse(id, fx::permission_denied,
                          fmt::format("making directories is not allowed: '{}'", shown(p.str())));
        case fxp::rmdir:
            return refuse(id, fx::permission_denied,
                          fmt::format("removing directories is not allowed: '{}'", shown(p.str())));
        case fxp::symlink:
            return refuse(id, fx::permission_denied, "making links is not allowed");
        case fxp::readlink:
            return refuse(id, fx::permission_denied, "reading links is not allowed");
        case fxp::extended:
            return refuse(id, fx::op_unsupported,
                          fmt::format("extension '{}' is not supported (this server has none)", shown(p.str())));
        default:
            return refuse(id, fx::op_unsupported, fmt::format("request type {} is not supported", type));
        }
    }

    // The root, incoming/ and what this session stored exist; nothing else does.
    bool exists(const VirtualPath& v) const
    {
        return v.kind == VirtualPath::Kind::root || v.kind == VirtualPath::Kind::incoming ||
               (v.kind == VirtualPath::Kind::file && stored_.count(v.name));
    }

    void attributes(Reply& r, const VirtualPath& v) const
    {
        if (v.kind == VirtualPath::Kind::file)
            r.u32(attr::size | attr::permissions).u64(stored_.at(v.name)).u32(S_IFREG | 0644);
        else
            r.u32(attr::permissions).u32(S_IFDIR | (v.kind == VirtualPath::Kind::root ? 0755 : 0733));
    }

    Open* find(std::string_view handle)
    {
        auto it = handles_.find(std::string(handle));
        return it == handles_.end() ? nullptr : &it->second;
    }

    void open(std::uint32_t id, std::string_view path, std::uint32_t flags)
    {
        auto v = resolve_virtual(path);
        auto p = shown(path);
        if (flags & fxf::read)
            return refuse(id, fx::permission_denied, fmt::format("reading back is not allowed: '{}'", p));
        if (!(flags & fxf::write) || !(flags & fxf::creat) || (flags & fxf::append))
            return refuse(id, fx::permission_denied,
                          fmt::format("'{}': only new files can be written (no appending)", p));
        if (v.kind == VirtualPath::Kind::root || v.kind == VirtualPath::Kind::incoming)
            return refuse(id, fx::failure, fmt::format("'{}' is a directory", p));
        if (v.kind != VirtualPath::Kind::file)
            return refuse(id, fx::permission_denied,
                          fmt::format("only files in /incoming can be written, not '{}'", p));
        if (auto why = name_problem(v.name))
            return refuse(id, fx::permission_denied, *why);
        if (handles_.size() >= max_sftp_handles)
            return refuse(id, fx::failure, fmt::format("too many open files (at most {})", max_sftp_handles));
        if (stored_.count(v.name) || in_dir(dir_, v.name))
            return refuse(id, fx::permission_denied, fmt::format("'{}' is already in incoming", v.name));
        std::optional<parts::Part> part;
        try {
            part = parts::Part::create(dir_, v.name);
        } catch (const Error& e) {
            return refuse(id, fx::failure, fmt::format("cannot store '{}': {}", v.name, e.what()));
        }
        if (!part)
            return refuse(id, fx::permission_denied,
                          fmt::format("'{}' is being uploaded by another session", v.name));
        auto handle = std::to_string(next_handle_++);
        handles_.emplace(handle, Open{std::move(*part), {}});
        send(Reply(fxp::handle).u32(id).str(handle));
    }

    void write(std::uint32_t id, std::string_view handle, std::uint64_t offset, std::string_view data)
    {
        auto* f = find(handle);
        if (!f)
            return status(id, fx::failure, "no such handle");
        if (f->failure.empty()) {
            constexpr auto max = std::uint64_t(std::numeric_limits<off_t>::max());
            int err = offset > max - data.size() ? EFBIG : write_at(f->part.fd(), data, offset);
            if (err)
                f->failure = fmt::format("cannot write '{}': {}", f->part.name(), std::strerror(err));
        }
        if (!f->failure.empty())
            return status(id, fx::failure, f->failure);
        status(id, fx::ok, "");
    }

    void close(std::uint32_t id, std::string_view handle)
    {
        auto it = handles_.find(std::string(handle));
        if (it == handles_.end())
            return status(id, fx::failure, "no such handle");
        Open f = std::move(it->second);
        handles_.erase(it);
        auto name = f.part.name();
        if (!f.failure.empty())
            return refuse(id, fx::failure, f.failure + ": not stored");
        struct stat st{};
        try {
            if (::fstat(f.part.fd(), &st) != 0)
                throw sys_error(fmt::format("cannot look at the part of '{}'", name));
            f.part.publish();
        } catch (const Error& e) {
            return refuse(id, e.code() == Exit::exists ? fx::permission_denied : fx::failure,
                          fmt::format("'{}' is not stored: {}", name, e.what()));
        }
        stored_[name] = std::uint64_t(st.st_size);
        r_.stored.push_back(name);
        log::debug("incoming", "sftp: stored '{}' ({} bytes)", name, st.st_size);
        status(id, fx::ok, "");
    }

    Channel& ch_;
    std::filesystem::path dir_;
    Received& r_;
    std::map<std::string, Open> handles_;
    std::map<std::string, std::uint64_t> stored_; // name: size
    std::uint64_t next_handle_ = 0;
};

// ---- the legacy scp sink ---------------------------------------------------------

// The target of "scp [-t -p -d -v -r -q ...] [--] TARGET" when it asks for a sink (-t).
std::optional<std::string> scp_sink_target(std::string_view command)
{
    auto w = split_ws(command);
    if (w.empty() || (w[0] != "scp" && !w[0].ends_with("/scp")))
        return std::nullopt;
    size_t i = 1;
    bool sink = false;
    for (; i < w.size() && w[i].starts_with("-") && w[i].size() > 1; ++i) {
        if (w[i] == "--") {
            ++i;
            break;
        }
        for (char c : w[i].substr(1)) {
            if (c == 't')
                sink = true;
            else if (std::string_view("pdvrq").find(c) == std::string_view::npos)
                return std::nullopt; // -f (a source: reading back) and anything else
        }
    }
    if (!sink || i + 1 != w.size())
        return std::nullopt;
    return std::string(w[i]);
}

class ScpSink {
public:
    ScpSink(Channel& ch, const std::filesystem::path& dir, Received& r) : ch_(ch), dir_(dir), r_(r) {}

    void run(const std::string& target)
    {
        if (resolve_virtual(target).kind != VirtualPath::Kind::incoming) {
            auto message = fmt::format("scp: only 'incoming' can be the target of an upload, not '{}'", shown(target));
            ch_.write("\x01" + log::program() + ": " + message + "\n");
            throw Error(Exit::not_allowed, message);
        }
        ok();
        while (auto line = next_line()) {
            if (line->empty())
                protocol_error("an empty record");
            switch ((*line)[0]) {
            case '\x01': // the client could not send something: nothing to answer
                log::warning("the client: {}", shown(line->substr(1)));
                break;
            case '\x02':
                throw fail(Exit::tempfail, "scp: the client gave up: {}", shown(line->substr(1)));
            case 'E': // the end of a directory; at the top: the end
                ok();
                return;
            case 'T': // times (scp -p): not kept
                if (!times(*line))
                    protocol_error("a malformed 'T' record");
                ok();
                break;
            case 'D':
                refuse(fmt::format("directories are not allowed: '{}'", shown(record_name(*line))));
                break;
            case 'C':
                file(*line);
                break;
            default:
                protocol_error("an unknown record");
            }
        }
    }

private:
    void ok() { ch_.write(std::string_view("\0", 1)); }

    void refuse(const std::string& message)
    {
        note_refusal(r_, message);
        ch_.write("\x01" + log::program() + ": " + message + "\n");
    }

    [[noreturn]] void protocol_error(std::string_view what)
    {
        ch_.write("\x01" + log::program() + ": protocol error: " + std::string(what) + "\n");
        throw fail(Exit::rejected, "scp: protocol error: {}", what);
    }

    // A record without its "\n"; nullopt at the end of input before one.
    std::optional<std::string> next_line()
    {
        std::string line;
        while (true) {
            int c = ch_.byte();
            if (c < 0) {
                if (line.empty())
                    return std::nullopt;
                throw Error(Exit::tempfail, "scp: the connection ended in the middle of a record");
            }
            if (c == '\n')
                return line;
            line.push_back(char(c));
            if (line.size() > 4096)
                protocol_error("a record longer than 4096 bytes");
        }
    }

    // "T<mtime> <usec> <atime> <usec>"
    static bool times(std::string_view line)
    {
        auto w = split_ws(line.substr(1));
        if (w.size() != 4 || line.find("  ") != std::string_view::npos)
            return false;
        return std::all_of(w.begin(), w.end(), [](std::string_view n) { return parse_uint(n).has_value(); });
    }

    // The name of a "C" or "D" record: after the mode and the size.
    static std::string_view record_name(std::string_view line)
    {
        auto first = line.find(' ');
        auto second = first == std::string_view::npos ? first : line.find(' ', first + 1);
        return second == std::string_view::npos ? std::string_view{} : line.substr(second + 1);
    }

    // "C<4 octal digits> <size> <name>": refused, or taken whole (its bytes, then the
    // client's status byte) and stored or not.
    void file(const std::string& line)
    {
        auto first = line.find(' ');
        auto second = first == std::string::npos ? first : line.find(' ', first + 1);
        auto size = second == std::string::npos ? std::nullopt
                                                : parse_uint(std::string_view(line).substr(first + 1, second - first - 1));
        bool mode_ok = first == 5 && std::all_of(line.begin() + 1, line.begin() + 5, [](char c) {
                           return c >= '0' && c <= '7';
                       });
        if (!mode_ok || !size)
            protocol_error("a malformed 'C' record");
        const std::uint64_t length = *size;
        std::string name = line.substr(second + 1);
        if (name.find('/') != std::string::npos)
            return refuse(fmt::format("file name '{}' has a '/'", shown(name)));
        if (auto why = name_problem(name))
            return refuse(*why);
        if (in_dir(dir_, name))
            return refuse(fmt::format("'{}' is already in incoming", name));
        std::optional<parts::Part> part;
        try {
            part = parts::Part::create(dir_, name);
        } catch (const Error& e) {
            return refuse(fmt::format("cannot store '{}': {}", name, e.what()));
        }
        if (!part)
            return refuse(fmt::format("'{}' is being uploaded by another session", name));
        ok();

        std::string failure;
        std::uint64_t offset = 0;
        char buf[1 << 16];
        while (offset < length) {
            size_t got = ch_.some(buf, size_t(std::min<std::uint64_t>(sizeof buf, length - offset)));
            if (got == 0)
                throw fail(Exit::tempfail, "scp: the connection ended in the middle of '{}': not stored", name);
            if (failure.empty()) // after a failure: read on, to stay in step with the client
                if (int err = write_at(part->fd(), std::string_view(buf, got), offset))
                    failure = fmt::format("cannot write '{}': {}", name, std::strerror(err));
            offset += got;
        }
        int end = ch_.byte();
        if (end < 0)
            throw fail(Exit::tempfail, "scp: the connection ended after '{}' without its status: not stored", name);
        if (end == 1 || end == 2) {
            auto why = next_line().value_or("");
            if (end == 2)
                throw fail(Exit::tempfail, "scp: the client gave up sending '{}': {}", name, shown(why));
            if (failure.empty())
                failure = fmt::format("the client could not send '{}': {}", name, shown(why));
        } else if (end != 0) {
            protocol_error("no status after the file's data");
        }
        if (!failure.empty())
            return refuse(failure + ": not stored");
        try {
            part->publish();
        } catch (const Error& e) {
            return refuse(fmt::format("'{}' is not stored: {}", name, e.what()));
        }
        r_.stored.push_back(name);
        log::debug("incoming", "scp: stored '{}' ({} bytes)", name, length);
        ok();
    }

    Channel& ch_;
    std::filesystem::path dir_;
    Received& r_;
};

} // namespace

VirtualPath resolve_virtual(std::string_view path)
{
    std::vector<std::string> parts;
    while (!path.empty()) {
        auto slash = path.find('/');
        auto part = path.substr(0, slash);
        path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
        if (part.empty() || part == ".")
            continue;
        if (part == "..") {
            if (!parts.empty())
                parts.pop_back();
            continue;
        }
        parts.emplace_back(part);
    }
    VirtualPath v;
    v.path = "/" + fmt::format("{}", fmt::join(parts, "/"));
    if (parts.empty())
        v.kind = VirtualPath::Kind::root;
    else if (parts[0] != "incoming")
        v.kind = VirtualPath::Kind::other;
    else if (parts.size() == 1)
        v.kind = VirtualPath::Kind::incoming;
    else if (parts.size() == 2) {
        v.kind = VirtualPath::Kind::file;
        v.name = parts[1];
    }
    return v;
}

std::optional<Protocol> upload_protocol(std::string_view original_command)
{
    auto w = split_ws(original_command);
    if (w.empty())
        return std::nullopt;
    if (w[0] == "internal-sftp" || w[0] == "sftp-server" || w[0].ends_with("/sftp-server"))
        return Protocol::sftp;
    if (scp_sink_target(original_command))
        return Protocol::scp;
    return std::nullopt;
}

Received receive_upload(Protocol p, std::string_view original_command, int in, int out,
                        const std::filesystem::path& dir)
{
    SignalScope signals; // first made, last gone: after the parts of an unfinished session
    Channel ch(in, out, signals);
    Received r;
    parts::remove_stale(dir);
    try {
        if (p == Protocol::sftp) {
            SftpSession(ch, dir, r).run();
        } else {
            auto target = scp_sink_target(original_command);
            if (!target)
                throw fail(Exit::not_allowed, "'{}' is not an scp upload (scp -t incoming)",
                           shown(original_command));
            ScpSink(ch, dir, r).run(*target);
        }
    } catch (const Error&) {
        try { // the answers that say why, where the client still reads them
            ch.flush();
        } catch (const Error&) {
        }
        throw;
    }
    ch.flush();
    return r;
}

Received receive_session(Context& ctx, Protocol p, std::string_view original_command)
{
    ctx.db(); // (the home exists, with its layout)
    Received r;
    try {
        r = receive_upload(p, original_command, STDIN_FILENO, STDOUT_FILENO, ctx.home().incoming());
    } catch (...) {
        wake::raise(ctx.home(), wake::Pass::incoming); // for what it may have stored
        throw;
    }
    if (!r.stored.empty())
        wake::raise(ctx.home(), wake::Pass::incoming);
    if (!r.refused.empty())
        throw fail(Exit::not_allowed, "stored {} file(s), refused what an upload key may not do: {}", r.stored.size(),
                   r.refused);
    return r;
}

} // namespace mbd::upload
