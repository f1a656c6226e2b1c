#include "build/result.hpp"

#include "core/error.hpp"
#include "core/fault.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "deb822/deb822.hpp"
#include "version/version.hpp"

namespace mbd::build {
namespace {

void add_file(deb822::Paragraph& p, const std::filesystem::path& file, std::string_view section)
{
    auto d = digest_file(file);
    std::string name = file.filename().string();
    auto append = [&](std::string_view field, std::string line) {
        std::string v = p.get(field);
        p.set(field, v + "\n" + line);
    };
    append("Files", fmt::format("{} {} {} optional {}", d.md5, d.size, section, name));
    append("Checksums-Sha1", fmt::format("{} {} {}", d.sha1, d.size, name));
    append("Checksums-Sha256", fmt::format("{} {} {}", d.sha256, d.size, name));
}

std::string one_line(std::string_view text)
{
    std::string out;
    for (char c : text.substr(0, 500))
        out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
    return std::string(trim(out));
}

} // namespace

ResultDocument make_result(const Request& r, const SbuildOutcome& o, const std::string& builder,
                           const std::string& maintainer)
{
    ResultDocument doc;
    doc.changes_name = result_changes_name(r);
    std::string stem = fmt::format("{}_{}_{}", r.source, Version::parse(r.version).without_epoch(), r.architecture);
    deb822::Paragraph p;
    if (o.successful()) {
        p = deb822::parse_one(read_file(o.changes), o.changes.filename().string());
        for (const auto& line : p.lines("Files")) {
            auto w = split_ws(line);
            if (w.size() == 5)
                doc.files.push_back(o.changes.parent_path() / std::string(w[4]));
        }
    } else {
        p.set("Format", "1.8");
        p.set("Date", rfc2822_time(now_seconds()));
        p.set("Source", r.source);
        p.set("Architecture", r.architecture);
        p.set("Version", r.version);
        p.set("Maintainer", maintainer);
        p.set("Changes", fmt::format("\n{} ({}) {}; urgency=low\n\n  * Build failed: {}.", r.source, r.version,
                                     r.distribution, o.status));
        if (!o.reason.empty()) // one line, whatever the error said
            p.set(result_reason_field, one_line(o.reason));
        p.set("Files", "");
        p.set("Checksums-Sha1", "");
        p.set("Checksums-Sha256", "");
    }
    p.set("Distribution", r.distribution);
    p.set(result_id_field, r.id);
    p.set(result_status_field, o.status);
    p.set(result_builder_field, builder);
    p.set(result_seconds_field, fmt::format("{:.1f}", o.seconds));
    if (!o.log.empty()) {
        // the log travels as a plain file named after the build
        std::filesystem::path log = o.log.parent_path() / (stem + ".mbd.log");
        if (o.log != log)
            copy_atomic(o.log, log);
        add_file(p, log, "log");
        p.set(result_log_field, log.filename().string());
        doc.files.push_back(log);
    }
    doc.text = p.to_string();
    return doc;
}

void deliver(const ResultDocument& result, const std::string& signed_text, const std::filesystem::path& dir)
{
    for (const auto& f : result.files) {
        copy_atomic(f, dir / f.filename());
        fault::point("build.deliver");
    }
    write_atomic(dir / result.changes_name, signed_text);
    fault::point("build.deliver");
}

} // namespace mbd::build
