// core/config: the one configuration namespace.
//
// Every key is declared once, in config.cpp's table (name, type, default,
// description); its environment variable is derived (build.jobs -> MBD_BUILD_JOBS).
// Precedence, lowest first: default < config file < environment < -o key=value
// < a dedicated command-line flag (e.g. --home). The config file is $MBD_CONFIG,
// else $MBD_HOME/etc/mbd.conf when it exists; "key = value" lines, '#' comments.
// An unknown key anywhere is an Error(Exit::config).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mbd {

enum class ConfigType { string, integer, boolean, path };

struct ConfigKey {
    std::string_view name;
    ConfigType type;
    std::string (*default_value)();
    std::string_view description;
};

enum class Origin { default_value, file, environment, option, flag };
std::string_view origin_name(Origin origin);

struct ConfigValue {
    std::string value;
    Origin origin = Origin::default_value;
    std::string where; // file:line, variable name or flag; empty for defaults
};

// Environment variables that are not configuration keys but are read by mbd.
inline constexpr std::string_view env_config_file = "MBD_CONFIG";
inline constexpr std::string_view env_fault = "MBD_FAULT";

// Why an e-mail address is not one mbd can sign and write changelogs with: it needs a
// local part and a domain with a dot ("mbd@vm" makes lintian reject changelog entries
// as bogus-mail-host); nullopt when it is fine.
std::optional<std::string> email_problem(std::string_view address);

// Why a URL is not one to publish repositories under (publish.url): it must be http://
// or https:// (lower case) with a host, and hold no white space, control character, quote, backslash
// or angle bracket (it is printed into sources lists and pages); nullopt when it is fine.
std::optional<std::string> url_problem(std::string_view url);

// Set KEY = VALUE in a configuration file (the line that sets it is replaced, else one is
// appended; comments stay), after checking the key and the value (an e-mail address
// needs a domain: email_problem; publish.url is an http(s) URL: url_problem). Written
// atomically.
void store_config(const std::filesystem::path& file, std::string_view key, const std::string& value);

class Config {
public:
    static const std::vector<ConfigKey>& keys();
    static std::string env_name(std::string_view key);

    struct Sources {
        std::vector<std::string> options;               // "-o key=value", in order
        std::vector<std::pair<std::string, std::string>> flags; // (key, value) from dedicated flags
        bool read_environment = true;
    };
    static Config load(const Sources& sources);

    const std::string& get(std::string_view key) const;
    long long get_int(std::string_view key) const;
    bool get_bool(std::string_view key) const;
    const ConfigValue& entry(std::string_view key) const;
    std::filesystem::path home() const { return get("home"); }

    // Override a value after loading (tests, tools that compute a value).
    void set(std::string_view key, std::string value, Origin origin, std::string where = {});

    // Text for --show-config: one "key = value  (origin)" line per key.
    std::string show() const;

private:
    std::map<std::string, ConfigValue, std::less<>> values_;
};

} // namespace mbd
