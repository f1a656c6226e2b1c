#include "core/json.hpp"

#include "core/error.hpp"
#include "core/strings.hpp"

#include <fmt/format.h>

namespace mbd {

std::string json_escape(std::string_view s)
{
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        case '\r': out += "\\r"; break;
        default:
            if (c < 0x20)
                out += fmt::format("\\u{:04x}", c);
            else
                out += char(c);
        }
    }
    return out + "\"";
}

Json& Json::set(std::string key, Json value)
{
    auto* o = std::get_if<Object>(&v_);
    if (!o)
        throw Error("internal error: Json::set on a non-object");
    o->emplace_back(std::move(key), std::move(value));
    return *this;
}

Json& Json::push(Json value)
{
    auto* a = std::get_if<Array>(&v_);
    if (!a)
        throw Error("internal error: Json::push on a non-array");
    a->push_back(std::move(value));
    return *this;
}

std::string Json::dump(bool pretty) const
{
    std::string out;
    write(out, pretty, 0);
    if (pretty)
        out += '\n';
    return out;
}

void Json::write(std::string& out, bool pretty, int indent) const
{
    auto newline = [&](int level) {
        if (pretty) {
            out += '\n';
            out.append(size_t(level) * 2, ' ');
        }
    };
    if (std::holds_alternative<std::nullptr_t>(v_))
        out += "null";
    else if (auto* b = std::get_if<bool>(&v_))
        out += *b ? "true" : "false";
    else if (auto* i = std::get_if<long long>(&v_))
        out += std::to_string(*i);
    else if (auto* d = std::get_if<double>(&v_))
        out += fmt::format("{}", *d);
    else if (auto* s = std::get_if<std::string>(&v_))
        out += json_escape(*s);
    else if (auto* a = std::get_if<Array>(&v_)) {
        if (a->empty()) {
            out += "[]";
            return;
        }
        out += '[';
        for (size_t k = 0; k < a->size(); ++k) {
            if (k)
                out += ',';
            newline(indent + 1);
            (*a)[k].write(out, pretty, indent + 1);
        }
        newline(indent);
        out += ']';
    } else if (auto* o = std::get_if<Object>(&v_)) {
        if (o->empty()) {
            out += "{}";
            return;
        }
        out += '{';
        for (size_t k = 0; k < o->size(); ++k) {
            if (k)
                out += ',';
            newline(indent + 1);
            out += json_escape((*o)[k].first);
            out += pretty ? ": " : ":";
            (*o)[k].second.write(out, pretty, indent + 1);
        }
        newline(indent);
        out += '}';
    }
}

Json json_time(long long unix_seconds)
{
    return unix_seconds ? Json(iso_time(unix_seconds)) : Json();
}

} // namespace mbd
