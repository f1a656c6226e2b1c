// upload/receive: the SFTP namespace, what counts as an upload command, and the
// bounds of the packet reader, over a socketpair with hand-made packets (the real
// clients are tested in tests/integration/620-receive.bats).
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/parts.hpp"
#include "upload/receive.hpp"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace mbd;
using namespace mbd::upload;
using Kind = VirtualPath::Kind;

TEST(ReceivePath, ResolvesLexicallyFromTheRoot)
{
    struct Case {
        const char* in;
        Kind kind;
        const char* path;
        const char* name;
    } cases[] = {
        {"", Kind::root, "/", ""},
        {".", Kind::root, "/", ""},
        {"/", Kind::root, "/", ""},
        {"..", Kind::root, "/", ""},
        {"/../..", Kind::root, "/", ""},
        {"incoming", Kind::incoming, "/incoming", ""},
        {"/incoming/", Kind::incoming, "/incoming", ""},
        {"//incoming/./", Kind::incoming, "/incoming", ""},
        {"x/../incoming", Kind::incoming, "/incoming", ""},
        {"incoming/a.dsc", Kind::file, "/incoming/a.dsc", "a.dsc"},
        {"/incoming//a.dsc", Kind::file, "/incoming/a.dsc", "a.dsc"},
        {"../../incoming/a.dsc", Kind::file, "/incoming/a.dsc", "a.dsc"},
        {"incoming/sub/../a.dsc", Kind::file, "/incoming/a.dsc", "a.dsc"},
        {"incoming/.a", Kind::file, "/incoming/.a", ".a"},
        {"incoming/../a.dsc", Kind::other, "/a.dsc", ""},
        {"incoming/sub/a.dsc", Kind::other, "/incoming/sub/a.dsc", ""},
        {"/etc/passwd", Kind::other, "/etc/passwd", ""},
        {"~/incoming", Kind::other, "/~/incoming", ""},
        {"incomingx", Kind::other, "/incomingx", ""},
    };
    for (const auto& c : cases) {
        auto v = resolve_virtual(c.in);
        EXPECT_EQ(v.kind, c.kind) << c.in;
        EXPECT_EQ(v.path, c.path) << c.in;
        EXPECT_EQ(v.name, c.name) << c.in;
    }
}

TEST(ReceiveProtocol, TakesTheSubsystemAndTheScpSinkOnly)
{
    EXPECT_EQ(upload_protocol("/usr/lib/openssh/sftp-server"), Protocol::sftp);
    EXPECT_EQ(upload_protocol("/usr/lib/openssh/sftp-server -l INFO"), Protocol::sftp);
    EXPECT_EQ(upload_protocol("internal-sftp"), Protocol::sftp);
    EXPECT_EQ(upload_protocol("scp -t incoming"), Protocol::scp);
    EXPECT_EQ(upload_protocol("scp -v -r -p -d -t -- incoming"), Protocol::scp);
    EXPECT_EQ(upload_protocol("scp -pt /incoming/"), Protocol::scp);
    EXPECT_EQ(upload_protocol("/usr/bin/scp -t incoming"), Protocol::scp);
    for (const char* no : {"", "   ", "ls", "sftp", "sh -c 'scp -t incoming'", "scp -f incoming/x", "scp -t",
                           "scp incoming", "scp -t a b", "scp -t -o x incoming", "scpx -t incoming",
                           "mbd-repo ls", "/usr/lib/openssh/sftp-serverx", "rsync --server . incoming"})
        EXPECT_EQ(upload_protocol(no), std::nullopt) << no;
}

namespace {

std::string u32(std::uint32_t v)
{
    return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
}
std::string str(std::string_view s)
{
    return u32(std::uint32_t(s.size())) + std::string(s);
}
std::string packet(std::string body)
{
    return u32(std::uint32_t(body.size())) + body;
}
std::string init()
{
    return packet("\x01" + u32(3));
}
// OPEN of path for WRITE|CREAT|TRUNC with no attributes.
std::string open_write(std::uint32_t id, std::string_view path)
{
    return packet("\x03" + u32(id) + str(path) + u32(0x1a) + u32(0));
}

struct Answer {
    std::uint8_t type;
    std::uint32_t id;
    std::uint32_t code; // STATUS
    std::string rest;
};

// A session fed `input` (then the end of input); the answers and what it threw.
struct Session {
    std::vector<Answer> answers;
    std::optional<Exit> error;
    std::string message;
    Received received;
};

Session run_session(const std::filesystem::path& dir, const std::string& input,
                    Protocol p = Protocol::sftp, std::string_view command = "internal-sftp")
{
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
        throw std::runtime_error("socketpair");
    std::thread client([&] { // the whole input, then its end (more than a socket buffer may hold)
        for (size_t at = 0; at < input.size();) {
            ssize_t w = ::send(fds[1], input.data() + at, input.size() - at, MSG_NOSIGNAL);
            if (w <= 0)
                break; // the session ended before it took everything
            at += size_t(w);
        }
        ::shutdown(fds[1], SHUT_WR);
    });
    Session s;
    try {
        s.received = receive_upload(p, command, fds[0], fds[0], dir);
    } catch (const Error& e) {
        s.error = e.code();
        s.message = e.what();
    }
    ::shutdown(fds[0], SHUT_RDWR);
    client.join();
    ::close(fds[0]);
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(fds[1], buf, sizeof buf)) > 0;)
        out.append(buf, size_t(n));
    ::close(fds[1]);
    if (p == Protocol::scp) {
        s.answers.push_back({0, 0, 0, out});
        return s;
    }
    auto be = [&](size_t at) {
        return (std::uint32_t(std::uint8_t(out[at])) << 24) | (std::uint32_t(std::uint8_t(out[at + 1])) << 16) |
               (std::uint32_t(std::uint8_t(out[at + 2])) << 8) | std::uint32_t(std::uint8_t(out[at + 3]));
    };
    for (size_t at = 0; at + 4 <= out.size();) {
        auto len = be(at);
        Answer a{std::uint8_t(out[at + 4]), 0, 0, {}};
        if (a.type != 2) // VERSION has no id
            a.id = be(at + 5);
        if (a.type == 101)
            a.code = be(at + 9);
        a.rest = out.substr(at + 9, len - 5);
        s.answers.push_back(a);
        at += 4 + len;
    }
    return s;
}

} // namespace

TEST(ReceiveSftp, StoresAFileOnlyWhenItIsClosed)
{
    TempDir dir;
    std::string in = init() + open_write(1, "/incoming/a.dsc") +
                     packet("\x06" + u32(2) + str("0") + u32(0) + u32(0) + str("hello")) +
                     packet("\x06" + u32(3) + str("0") + u32(0) + u32(5) + str(" world")) +
                     packet(std::string("\x04") + u32(4) + str("0")) + packet("\x11" + u32(5) + str("incoming/a.dsc"));
    auto s = run_session(dir.path(), in);
    EXPECT_FALSE(s.error) << s.message;
    ASSERT_EQ(s.answers.size(), 6u);
    EXPECT_EQ(s.answers[0].type, 2);   // VERSION
    EXPECT_EQ(s.answers[1].type, 102); // HANDLE
    for (size_t i : {2, 3, 4}) {
        EXPECT_EQ(s.answers[i].type, 101);
        EXPECT_EQ(s.answers[i].code, 0u) << i;
    }
    EXPECT_EQ(s.answers[5].type, 105); // ATTRS: SIZE|PERMISSIONS, 11
    EXPECT_EQ(s.answers[5].rest.substr(0, 12), u32(5) + u32(0) + u32(11));
    EXPECT_EQ(read_file(dir.path() / "a.dsc"), "hello world");
    EXPECT_EQ(s.received.stored, std::vector<std::string>{"a.dsc"});
    EXPECT_TRUE(s.received.refused.empty());
}

TEST(ReceiveSftp, AnOversizedPacketIsABadMessageAndEndsTheSession)
{
    TempDir dir;
    // a WRITE that claims one byte more than the bound: only its head is sent
    std::string in = init() + u32(std::uint32_t(max_sftp_packet + 1)) + "\x06" + u32(7);
    auto s = run_session(dir.path(), in);
    ASSERT_TRUE(s.error);
    EXPECT_EQ(*s.error, Exit::rejected);
    ASSERT_EQ(s.answers.size(), 2u);
    EXPECT_EQ(s.answers[1].type, 101);
    EXPECT_EQ(s.answers[1].id, 7u);
    EXPECT_EQ(s.answers[1].code, 5u); // BAD_MESSAGE
}

TEST(ReceiveSftp, AWriteAtTheBoundIsTaken)
{
    TempDir dir;
    std::string data(256 * 1024, 'x');
    std::string in = init() + open_write(1, "incoming/big") +
                     packet("\x06" + u32(2) + str("0") + u32(0) + u32(0) + str(data)) +
                     packet(std::string("\x04") + u32(3) + str("0"));
    auto s = run_session(dir.path(), in);
    EXPECT_FALSE(s.error) << s.message;
    EXPECT_EQ(std::filesystem::file_size(dir.path() / "big"), data.size());
}

TEST(ReceiveSftp, ATruncatedPacketIsABadMessage)
{
    TempDir dir;
    // an OPEN whose path string claims more bytes than the packet holds
    std::string in = init() + packet("\x03" + u32(9) + u32(100) + "incoming/a");
    auto s = run_session(dir.path(), in);
    ASSERT_TRUE(s.error);
    EXPECT_EQ(*s.error, Exit::rejected);
    ASSERT_EQ(s.answers.size(), 2u);
    EXPECT_EQ(s.answers[1].id, 9u);
    EXPECT_EQ(s.answers[1].code, 5u);
}

TEST(ReceiveSftp, ASessionThatEndsWithAFileOpenLeavesNoPart)
{
    TempDir dir;
    std::string in = init() + open_write(1, "incoming/a.dsc") +
                     packet("\x06" + u32(2) + str("0") + u32(0) + u32(0) + str("hello"));
    auto s = run_session(dir.path(), in);
    ASSERT_TRUE(s.error);
    EXPECT_EQ(*s.error, Exit::tempfail);
    EXPECT_NE(s.message.find("'a.dsc'"), std::string::npos) << s.message;
    EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(ReceiveSftp, AtMostSixtyFourFilesAreOpen)
{
    TempDir dir;
    std::string in = init();
    for (std::uint32_t i = 0; i <= max_sftp_handles; ++i)
        in += open_write(i + 1, "incoming/f" + std::to_string(i));
    auto s = run_session(dir.path(), in);
    ASSERT_EQ(s.answers.size(), max_sftp_handles + 2);
    EXPECT_EQ(s.answers[max_sftp_handles].type, 102);
    EXPECT_EQ(s.answers[max_sftp_handles + 1].type, 101);
    EXPECT_EQ(s.answers[max_sftp_handles + 1].code, 4u); // FAILURE
    EXPECT_NE(s.answers[max_sftp_handles + 1].rest.find("too many open files"), std::string::npos);
    ASSERT_TRUE(s.error); // they were never closed
    EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(ReceiveSftp, RefusesWhatAnUploadKeyMayNotDo)
{
    TempDir dir;
    write_atomic(dir.path() / "there.dsc", "someone else's");
    struct Case {
        std::string request;
        std::uint32_t code;
    } cases[] = {
        {packet("\x0b" + u32(1) + str("/incoming")), 3},                          // OPENDIR
        {packet("\x0d" + u32(1) + str("incoming/there.dsc")), 3},                 // REMOVE
        {packet("\x12" + u32(1) + str("incoming/there.dsc") + str("incoming/x")), 3}, // RENAME
        {packet("\x0e" + u32(1) + str("incoming/d") + u32(0)), 3},                // MKDIR
        {packet("\x03" + u32(1) + str("incoming/there.dsc") + u32(1) + u32(0)), 3}, // OPEN for READ
        {open_write(1, "incoming/there.dsc"), 3},                                 // someone else's file
        {open_write(1, "/there.dsc"), 3},                                         // not in incoming
        {open_write(1, "incoming/../../etc/x"), 3},
        {open_write(1, "incoming/.hidden"), 3},
        {open_write(1, "incoming/a b"), 3},
        {open_write(1, "incoming"), 4},
        {packet("\x03" + u32(1) + str("incoming/new") + u32(0x0e) + u32(0)), 3}, // APPEND
        {packet("\xc8" + u32(1) + str("posix-rename@openssh.com")), 8},         // EXTENDED
        {packet("\x63" + u32(1)), 8},                                             // unknown
    };
    for (const auto& c : cases) {
        auto s = run_session(dir.path(), init() + c.request);
        EXPECT_FALSE(s.error) << s.message;
        ASSERT_EQ(s.answers.size(), 2u);
        EXPECT_EQ(s.answers[1].type, 101);
        EXPECT_EQ(s.answers[1].code, c.code) << s.received.refused;
        EXPECT_FALSE(s.received.refused.empty());
    }
    // nothing else there, nothing changed
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir.path()))
        names.push_back(e.path().filename().string());
    EXPECT_EQ(names, std::vector<std::string>{"there.dsc"});
    EXPECT_EQ(read_file(dir.path() / "there.dsc"), "someone else's");
}

TEST(ReceiveSftp, RevealsOnlyWhatTheSessionStored)
{
    TempDir dir;
    write_atomic(dir.path() / "there.dsc", "x");
    for (const char* path : {"incoming/there.dsc", "/etc/passwd", "incoming/none"}) {
        auto s = run_session(dir.path(), init() + packet("\x11" + u32(1) + str(path)) +
                                             packet("\x10" + u32(2) + str(path)));
        ASSERT_EQ(s.answers.size(), 3u);
        EXPECT_EQ(s.answers[1].code, 2u) << path; // NO_SUCH_FILE
        EXPECT_EQ(s.answers[2].code, 2u) << path;
        EXPECT_TRUE(s.received.refused.empty()); // not a refusal: there is nothing
    }
    auto s = run_session(dir.path(), init() + packet("\x10" + u32(1) + str(".")));
    ASSERT_EQ(s.answers.size(), 2u);
    EXPECT_EQ(s.answers[1].type, 104); // NAME "/"
    EXPECT_EQ(s.answers[1].rest.substr(0, 9), u32(1) + str("/"));
}

TEST(ReceiveParts, AStalePartIsTakenOverALiveOneIsNot)
{
    TempDir dir;
    write_atomic(dir.path() / parts::part_name("a.dsc"), "left by a killed writer");
    auto mine = parts::Part::create(dir.path(), "a.dsc");
    ASSERT_TRUE(mine);
    EXPECT_EQ(std::filesystem::file_size(dir.path() / parts::part_name("a.dsc")), 0u);
    EXPECT_FALSE(parts::Part::create(dir.path(), "a.dsc")); // mine is alive
    write_atomic(dir.path() / "a.dsc", "someone else's, complete");
    try {
        mine->publish();
        ADD_FAILURE() << "published over a file";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Exit::exists);
    }
    EXPECT_EQ(read_file(dir.path() / "a.dsc"), "someone else's, complete");
    EXPECT_FALSE(std::filesystem::exists(dir.path() / parts::part_name("a.dsc")));
}

TEST(ReceiveScp, StoresCRecordsAndRefusesTheRest)
{
    TempDir dir;
    std::string in = "T1700000000 0 1700000000 0\nC0644 5 a.dsc\nhello" + std::string(1, '\0') +
                     "D0755 0 sub\nC0644 3 .hidden\nC0644 3 b.dsc\nab";
    auto s = run_session(dir.path(), in, Protocol::scp, "scp -p -t incoming");
    // the connection ends in the middle of b.dsc
    ASSERT_TRUE(s.error);
    EXPECT_EQ(*s.error, Exit::tempfail);
    EXPECT_EQ(read_file(dir.path() / "a.dsc"), "hello"); // stored before the session broke
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "b.dsc"));
    EXPECT_FALSE(std::filesystem::exists(dir.path() / parts::part_name("b.dsc")));
    const auto& out = s.answers[0].rest;
    // hello, T, C a.dsc, stored a.dsc, D refused, .hidden refused, C b.dsc
    ASSERT_GE(out.size(), 4u);
    EXPECT_EQ(out.substr(0, 4), std::string(4, '\0'));
    EXPECT_NE(out.find("\x01" "mbd"), std::string::npos);
    EXPECT_NE(out.find("directories are not allowed"), std::string::npos);
    EXPECT_NE(out.find("starts with"), std::string::npos);
}

TEST(ReceiveScp, OnlyIncomingIsATarget)
{
    TempDir dir;
    for (const char* command : {"scp -t /tmp", "scp -t incoming/x", "scp -t ..", "scp -t ."}) {
        auto s = run_session(dir.path(), "C0644 1 a\nx", Protocol::scp, command);
        ASSERT_TRUE(s.error) << command;
        EXPECT_EQ(*s.error, Exit::not_allowed);
        EXPECT_EQ(s.answers[0].rest.substr(0, 1), "\x01");
    }
    EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}
