// core/json: a small JSON value for the --json output of listing commands.
// Objects keep insertion order so output is stable.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace mbd {

class Json {
public:
    using Array = std::vector<Json>;
    using Object = std::vector<std::pair<std::string, Json>>;

    Json() : v_(nullptr) {}
    Json(std::nullptr_t) : v_(nullptr) {}
    Json(bool b) : v_(b) {}
    Json(int i) : v_(static_cast<long long>(i)) {}
    Json(long i) : v_(static_cast<long long>(i)) {}
    Json(long long i) : v_(i) {}
    Json(unsigned long i) : v_(static_cast<long long>(i)) {}
    Json(unsigned long long i) : v_(static_cast<long long>(i)) {}
    Json(double d) : v_(d) {}
    Json(const char* s) : v_(std::string(s)) {}
    Json(std::string s) : v_(std::move(s)) {}
    Json(std::string_view s) : v_(std::string(s)) {}
    Json(Array a) : v_(std::move(a)) {}
    Json(Object o) : v_(std::move(o)) {}

    static Json array() { return Json(Array{}); }
    static Json object() { return Json(Object{}); }

    // Object: append key (no de-duplication). Array: append value.
    Json& set(std::string key, Json value);
    Json& push(Json value);

    std::string dump(bool pretty = true) const;

private:
    void write(std::string& out, bool pretty, int indent) const;
    std::variant<std::nullptr_t, bool, long long, double, std::string, Array, Object> v_;
};

std::string json_escape(std::string_view s);

// A time as ISO 8601 UTC, or null when it is 0 (never happened).
Json json_time(long long unix_seconds);

} // namespace mbd
