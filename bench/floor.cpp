// The floor of a bulk import (issue 24), built and run by bench/floor: what any tool taking
// these packages in must do at least, on this machine's cores, with the same libraries mbd
// uses. For every file of a directory of uploads: read it once and hash it once (SHA-256);
// for every .deb: its control member read with libarchive (the ar member control.tar.*,
// then ./control in it); then the index text (each control stanza) written to a file.
// Nothing is parsed, checked, recorded or made durable: no tool can do less.
//
//   floor DIR OUT [THREADS]   prints "files N bytes B debs D index-bytes I cpu C seconds S"
//
// And the floor of publishing one change: each FILE (a distribution's index files) written
// again as a new file and synced, and the second half of each hashed with SHA-256 and
// SHA-512 (an update hashes from its change to the end), the files shared by 2 threads.
//
//   floor --publish OUTDIR FILE...   prints "write S hash S"
//   floor --publish-noraw OUTDIR FILE...  the same, but only the compressed files (.gz, .xz)
//     written: the layout where Release lists the uncompressed files' hashes and the archive
//     serves only their compressed forms (Debian's, DESIGN.md's default); prints also
//     "inflate S": the second half of each .gz decompressed (zlib), on 2 threads, which is
//     where the text hashed then comes from (no uncompressed file to read it from)
//
// And the pool's directories: one per source (pool/main/p/pNNNNNN/, Debian's layout, which
// every tool here makes), COUNT of them made under DIR on one thread, as an import makes them.
//
//   floor --pool-dirs DIR COUNT      prints "dirs N seconds S"
//
// And the pool itself: for every .changes of UPLOADS (in the order LIST names them), its
// source's directory made (pool/main/<initial>/<Source>/) and each file it lists hard-linked
// into it, on one thread; the directories and files made durable by one syncfs.
//
//   floor --pool DIR UPLOADS LIST    prints "dirs D links L cpu C seconds S"
//
// And the record: a row per file (path, size, 4 hashes) and per package (its stanza) in an
// SQLite database with a unique index on what names each (WAL, synchronous=FULL: each commit
// synced), one transaction per 500 uploads as an import batches them. The rows are made from
// the uploads before the clock starts: only storing them is timed.
//
//   floor --record DB UPLOADS LIST   prints "files F packages P batches B cpu C seconds S"
//
// And compressing the index text: FILE deflated (zlib, level 6, gzip members) in 2 halves
// on 2 threads.
//
//   floor --gzip FILE                prints "bytes N gz G cpu C seconds S"
//
// (cpu: the CPU seconds of every thread, user and system, in what seconds times)
#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <zlib.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& p)
{
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void digest(const EVP_MD* md, const char* data, size_t size)
{
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_Digest(data, size, out, &len, md, nullptr);
}

void sha256(const std::string& data) { digest(EVP_sha256(), data.data(), data.size()); }

// Runs work(i) for i in [0, n) on 2 threads.
template <typename F> void on_two(size_t n, F work)
{
    std::atomic<size_t> next{0};
    auto run = [&] {
        for (size_t i; (i = next++) < n;)
            work(i);
    };
    std::thread other(run);
    run();
    other.join();
}

// CPU seconds of this process so far (every thread, user and system).
double cpu_seconds()
{
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double since(std::chrono::steady_clock::time_point t)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

int publish_floor(const fs::path& outdir, const std::vector<std::string>& files, bool raw)
{
    std::vector<std::string> data;
    for (const auto& f : files)
        data.push_back(read_all(f));
    auto t0 = std::chrono::steady_clock::now();
    on_two(data.size(), [&](size_t i) {
        if (!raw && !files[i].ends_with(".gz") && !files[i].ends_with(".xz"))
            return;
        fs::path p = outdir / ("new." + std::to_string(i));
        FILE* f = std::fopen(p.c_str(), "wb");
        std::fwrite(data[i].data(), 1, data[i].size(), f);
        std::fflush(f);
        fdatasync(fileno(f));
        std::fclose(f);
    });
    double write = since(t0);
    auto t1 = std::chrono::steady_clock::now();
    on_two(2 * data.size(), [&](size_t j) { // (SHA-256 and SHA-512 of a file on either thread)
        const std::string& d = data[j / 2];
        size_t half = d.size() / 2;
        digest(j % 2 ? EVP_sha512() : EVP_sha256(), d.data() + half, d.size() - half);
    });
    double hash = since(t1);
    if (raw) {
        std::printf("write %.3f hash %.3f\n", write, hash);
        return 0;
    }
    auto t2 = std::chrono::steady_clock::now();
    on_two(data.size(), [&](size_t i) { // (all of each .gz, timed below as its half)
        if (!files[i].ends_with(".gz"))
            return;
        z_stream z{};
        inflateInit2(&z, 15 + 32);
        z.next_in = reinterpret_cast<Bytef*>(data[i].data());
        z.avail_in = uInt(data[i].size());
        static thread_local char buf[1 << 16];
        for (int r = Z_OK; r == Z_OK || (r == Z_STREAM_END && z.avail_in > 0);) {
            if (r == Z_STREAM_END)
                inflateReset(&z); // the next member
            z.next_out = reinterpret_cast<Bytef*>(buf);
            z.avail_out = sizeof buf;
            r = inflate(&z, Z_NO_FLUSH);
        }
        inflateEnd(&z);
    });
    std::printf("write %.3f hash %.3f inflate %.3f\n", write, hash, since(t2) / 2);
    return 0;
}

// The first member of an archive in memory whose name starts with prefix.
bool member(const void* data, size_t size, const char* prefix, bool raw_ar, std::string& out)
{
    archive* a = archive_read_new();
    if (raw_ar) {
        archive_read_support_format_ar(a);
    } else {
        archive_read_support_format_tar(a);
        archive_read_support_filter_all(a);
    }
    bool found = false;
    if (archive_read_open_memory(a, data, size) == ARCHIVE_OK) {
        archive_entry* e;
        while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
            const char* name = archive_entry_pathname(e);
            if (std::strncmp(name, prefix, std::strlen(prefix)) != 0)
                continue;
            char buf[65536];
            for (la_ssize_t n; (n = archive_read_data(a, buf, sizeof buf)) > 0;)
                out.append(buf, size_t(n));
            found = true;
            break;
        }
    }
    archive_read_free(a);
    return found;
}

} // namespace

int pool_dirs_floor(const fs::path& dir, size_t count)
{
    fs::create_directories(dir / "pool/main/p");
    auto began = std::chrono::steady_clock::now();
    for (size_t i = 0; i < count; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "p%06zu", i);
        if (::mkdir((dir / "pool/main/p" / name).c_str(), 0755) != 0) {
            std::perror("mkdir");
            return 1;
        }
    }
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - began;
    std::printf("dirs %zu seconds %.3f\n", count, took.count());
    return 0;
}

// The uploads LIST names (one .changes per line, in UPLOADS): each one's Source and files.
struct Upload {
    std::string source;
    std::vector<std::string> files;
};

std::vector<Upload> read_uploads(const fs::path& uploads, const fs::path& list)
{
    std::vector<Upload> out;
    std::ifstream names(list);
    for (std::string name; std::getline(names, name);) {
        if (name.empty())
            continue;
        std::istringstream in(read_all(uploads / name));
        Upload u;
        bool files = false;
        for (std::string line; std::getline(in, line);) {
            if (line.starts_with("Source: "))
                u.source = line.substr(8);
            else if (line == "Files:")
                files = true;
            else if (files && line.starts_with(" "))
                u.files.push_back(line.substr(line.rfind(' ') + 1));
            else
                files = false;
        }
        u.files.push_back(name);
        out.push_back(std::move(u));
    }
    return out;
}

std::string pool_dir(const Upload& u)
{
    std::string initial = u.source.starts_with("lib") && u.source.size() > 3 ? u.source.substr(0, 4) : u.source.substr(0, 1);
    return "pool/main/" + initial + "/" + u.source;
}

int pool_floor(const fs::path& dir, const fs::path& uploads, const fs::path& list)
{
    auto all = read_uploads(uploads, list);
    fs::create_directories(dir / "pool/main");
    auto began = std::chrono::steady_clock::now();
    double cpu = cpu_seconds();
    size_t dirs = 0, links = 0;
    for (const auto& u : all) {
        fs::path d = dir / pool_dir(u);
        for (const auto& made : {d.parent_path(), d}) {
            if (::mkdir(made.c_str(), 0755) == 0)
                ++dirs;
            else if (errno != EEXIST) {
                std::perror(made.c_str());
                return 1;
            }
        }
        for (const auto& f : u.files) {
            if (f.ends_with(".changes"))
                continue;
            if (::link((uploads / f).c_str(), (d / f).c_str()) != 0) {
                std::perror(f.c_str());
                return 1;
            }
            ++links;
        }
    }
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (fd < 0 || syncfs(fd) != 0) {
        std::perror(dir.c_str());
        return 1;
    }
    ::close(fd);
    std::printf("dirs %zu links %zu cpu %.3f seconds %.3f\n", dirs, links, cpu_seconds() - cpu, since(began));
    return 0;
}

std::string hex(const unsigned char* p, unsigned n)
{
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < n; ++i) {
        out += digits[p[i] >> 4];
        out += digits[p[i] & 15];
    }
    return out;
}

int record_floor(const fs::path& db_path, const fs::path& uploads, const fs::path& list)
{
    struct File {
        std::string path, md5, sha1, sha256, sha512;
        size_t size;
        std::string stanza; // (a package's: a .deb's control or a .dsc)
    };
    auto all = read_uploads(uploads, list);
    std::vector<std::vector<File>> rows(all.size());
    on_two(all.size(), [&](size_t i) {
        for (const auto& f : all[i].files) {
            if (f.ends_with(".changes"))
                continue;
            std::string data = read_all(uploads / f);
            File row{pool_dir(all[i]) + "/" + f, {}, {}, {}, {}, data.size(), {}};
            for (auto [md, to] : {std::pair{EVP_md5(), &row.md5}, {EVP_sha1(), &row.sha1}, {EVP_sha256(), &row.sha256},
                                  {EVP_sha512(), &row.sha512}}) {
                unsigned char out[EVP_MAX_MD_SIZE];
                unsigned len = 0;
                EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
                *to = hex(out, len);
            }
            std::string control_tar;
            if (f.ends_with(".dsc"))
                row.stanza = std::move(data);
            else if (f.ends_with(".deb") && member(data.data(), data.size(), "control.tar", true, control_tar))
                member(control_tar.data(), control_tar.size(), "./control", false, row.stanza);
            rows[i].push_back(std::move(row));
        }
    });
    sqlite3* db = nullptr;
    if (sqlite3_open(db_path.c_str(), &db) != SQLITE_OK)
        return 1;
    auto exec = [&](const char* sql) {
        char* err = nullptr;
        if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
            std::fprintf(stderr, "%s: %s\n", sql, err);
            std::exit(1);
        }
    };
    exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
         "CREATE TABLE files (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, size INTEGER, md5 TEXT, sha1 TEXT,"
         " sha256 TEXT, sha512 TEXT);"
         "CREATE TABLE packages (id INTEGER PRIMARY KEY, file_id INTEGER NOT NULL, stanza TEXT NOT NULL);"
         "CREATE INDEX packages_file ON packages(file_id);");
    sqlite3_stmt *file_row, *package_row;
    sqlite3_prepare_v2(db, "INSERT INTO files(path, size, md5, sha1, sha256, sha512) VALUES (?, ?, ?, ?, ?, ?)", -1,
                       &file_row, nullptr);
    sqlite3_prepare_v2(db, "INSERT INTO packages(file_id, stanza) VALUES (?, ?)", -1, &package_row, nullptr);
    auto began = std::chrono::steady_clock::now();
    double cpu = cpu_seconds();
    size_t files = 0, packages = 0, batches = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
        if (i % 500 == 0)
            exec("BEGIN");
        for (const auto& r : rows[i]) {
            sqlite3_bind_text(file_row, 1, r.path.c_str(), -1, SQLITE_STATIC);
            sqlite3_bind_int64(file_row, 2, sqlite3_int64(r.size));
            sqlite3_bind_text(file_row, 3, r.md5.c_str(), -1, SQLITE_STATIC);
            sqlite3_bind_text(file_row, 4, r.sha1.c_str(), -1, SQLITE_STATIC);
            sqlite3_bind_text(file_row, 5, r.sha256.c_str(), -1, SQLITE_STATIC);
            sqlite3_bind_text(file_row, 6, r.sha512.c_str(), -1, SQLITE_STATIC);
            if (sqlite3_step(file_row) != SQLITE_DONE)
                return 1;
            sqlite3_reset(file_row);
            ++files;
            if (r.stanza.empty())
                continue;
            sqlite3_bind_int64(package_row, 1, sqlite3_last_insert_rowid(db));
            sqlite3_bind_text(package_row, 2, r.stanza.data(), int(r.stanza.size()), SQLITE_STATIC);
            if (sqlite3_step(package_row) != SQLITE_DONE)
                return 1;
            sqlite3_reset(package_row);
            ++packages;
        }
        if (i % 500 == 499 || i + 1 == rows.size()) {
            exec("COMMIT");
            ++batches;
        }
    }
    double took = since(began);
    cpu = cpu_seconds() - cpu;
    sqlite3_finalize(file_row);
    sqlite3_finalize(package_row);
    sqlite3_close(db);
    std::printf("files %zu packages %zu batches %zu cpu %.3f seconds %.3f\n", files, packages, batches, cpu, took);
    return 0;
}

int gzip_floor(const fs::path& file)
{
    std::string text = read_all(file);
    size_t half = text.size() / 2;
    std::string_view parts[2] = {std::string_view(text).substr(0, half), std::string_view(text).substr(half)};
    std::atomic<size_t> gz{0};
    auto began = std::chrono::steady_clock::now();
    double cpu = cpu_seconds();
    on_two(2, [&](size_t i) {
        z_stream z{};
        deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
        std::string out(deflateBound(&z, uLong(parts[i].size())), '\0');
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(parts[i].data()));
        z.avail_in = uInt(parts[i].size());
        z.next_out = reinterpret_cast<Bytef*>(out.data());
        z.avail_out = uInt(out.size());
        deflate(&z, Z_FINISH);
        gz += z.total_out;
        deflateEnd(&z);
    });
    std::printf("bytes %zu gz %zu cpu %.3f seconds %.3f\n", text.size(), gz.load(), cpu_seconds() - cpu, since(began));
    return 0;
}

int main(int argc, char** argv)
{
    if (argc == 5 && std::string(argv[1]) == "--pool")
        return pool_floor(argv[2], argv[3], argv[4]);
    if (argc == 5 && std::string(argv[1]) == "--record")
        return record_floor(argv[2], argv[3], argv[4]);
    if (argc == 3 && std::string(argv[1]) == "--gzip")
        return gzip_floor(argv[2]);
    if (argc > 2 && (std::string(argv[1]) == "--publish" || std::string(argv[1]) == "--publish-noraw"))
        return publish_floor(argv[2], std::vector<std::string>(argv + 3, argv + argc),
                             std::string(argv[1]) == "--publish");
    if (argc == 4 && std::string(argv[1]) == "--pool-dirs")
        return pool_dirs_floor(argv[2], std::stoul(argv[3]));
    if (argc < 3) {
        std::fprintf(stderr, "usage: floor DIR OUT [THREADS]\n");
        return 2;
    }
    unsigned threads = argc > 3 ? unsigned(std::stoul(argv[3])) : std::thread::hardware_concurrency();
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(argv[1]))
        if (e.is_regular_file())
            files.push_back(e.path());
    auto began = std::chrono::steady_clock::now();
    double cpu = cpu_seconds();
    std::atomic<size_t> next{0}, bytes{0}, debs{0};
    std::vector<std::string> stanzas(files.size());
    auto work = [&] {
        for (size_t i; (i = next++) < files.size();) {
            std::string data = read_all(files[i]);
            bytes += data.size();
            sha256(data);
            if (files[i].extension() != ".deb")
                continue;
            std::string control_tar, control;
            if (member(data.data(), data.size(), "control.tar", true, control_tar) &&
                member(control_tar.data(), control_tar.size(), "./control", false, control)) {
                stanzas[i] = std::move(control);
                ++debs;
            }
        }
    };
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t)
        pool.emplace_back(work);
    work();
    for (auto& t : pool)
        t.join();
    size_t index = 0;
    {
        std::ofstream out(argv[2], std::ios::binary);
        for (const auto& s : stanzas) {
            if (s.empty())
                continue;
            out << s << '\n';
            index += s.size() + 1;
        }
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    std::printf("files %zu bytes %zu debs %zu index-bytes %zu cpu %.3f seconds %.3f\n", files.size(), bytes.load(),
                debs.load(), index, cpu_seconds() - cpu, seconds);
    return debs.load() > 0 ? 0 : 1;
}
