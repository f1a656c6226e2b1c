// Our version ordering must be dpkg's: compare generated pairs with
// `dpkg --compare-versions` (the reference), in one shell run for speed.
#include "core/process.hpp"
#include "version/version.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace {

class Generator {
public:
    explicit Generator(unsigned seed) : rng_(seed) {}

    std::string version()
    {
        std::string v;
        if (pick(4) == 0)
            v += std::to_string(pick(3)) + ":";
        v += upstream(v.find(':') != std::string::npos);
        if (pick(3) != 0)
            v += "-" + part(".+~", 4);
        return v;
    }

    // A variant of v that is often close to it, so comparisons are interesting.
    std::string near(std::string v)
    {
        switch (pick(8)) {
        case 0: return v + "~";
        case 1: return v + "~~";
        case 2: return v + "+1";
        case 3: return v + ".0";
        case 4: return v + "a";
        case 5: {
            auto pos = v.find_last_of("0123456789");
            if (pos != std::string::npos && pos > 0)
                v[pos] = char('0' + pick(10));
            return v;
        }
        case 6: return v.find('-') == std::string::npos ? v + "-0" : v + "~test12+" + std::to_string(pick(3));
        default: return version();
        }
    }

private:
    unsigned pick(unsigned n) { return std::uniform_int_distribution<unsigned>(0, n - 1)(rng_); }

    std::string part(const char* extra, unsigned tokens)
    {
        static const char* alpha = "abcxyzABZ";
        std::string s;
        unsigned n = 1 + pick(tokens);
        for (unsigned i = 0; i < n; ++i) {
            switch (pick(4)) {
            case 0: s += std::to_string(pick(3) == 0 ? pick(1000) : pick(12)); break;
            case 1: s += alpha[pick(9)]; break;
            case 2: s += extra[pick(unsigned(std::char_traits<char>::length(extra)))]; break;
            default: s += (pick(5) == 0 ? "00" : "") + std::to_string(pick(10)); break;
            }
        }
        return s;
    }

    std::string upstream(bool has_epoch)
    {
        std::string u = std::to_string(pick(20));
        u += part(has_epoch ? ".+~:" : ".+~", 5);
        return u;
    }

    std::mt19937 rng_;
};

} // namespace

TEST(VersionAgainstDpkg, GeneratedPairs)
{
    if (mbd::find_program("dpkg").empty())
        GTEST_SKIP() << "dpkg is not installed";
    Generator gen(20261125);
    std::vector<std::pair<std::string, std::string>> pairs;
    // The policy edge cases first, then generated ones.
    const char* fixed[][2] = {{"1.0~rc1", "1.0"}, {"1.0~~", "1.0~~a"}, {"1.0~~a", "1.0~"}, {"1.0~", "1.0"},
                              {"1.0", "1.0a"},    {"1.0a", "1.0+"},    {"1.0+", "1.0.1"},  {"1.0", "1.00"},
                              {"0:1.0", "1.0"},   {"1.0", "1.0-0"},    {"2:0", "1:9"},     {"1.0-1", "1.0-1~"},
                              {"1.2-3-4", "1.2-3"}, {"1:1.0-1", "1:1.0-1+b1"}, {"0.0", "0"}, {"1~", "1~~"}};
    for (auto& f : fixed)
        pairs.emplace_back(f[0], f[1]);
    while (pairs.size() < 2500) {
        std::string a = gen.version();
        std::string b = gen.near(a);
        if (mbd::Version::invalid_reason(a) || mbd::Version::invalid_reason(b))
            continue; // generated text that is not a version (e.g. "1-a:b"); invalid ones are tested elsewhere
        pairs.emplace_back(a, b);
    }
    std::string script;
    for (const auto& [a, b] : pairs)
        script += "if dpkg --compare-versions '" + a + "' lt '" + b + "'; then echo '<'; elif dpkg --compare-versions '" +
                  a + "' eq '" + b + "'; then echo '='; else echo '>'; fi\n";
    auto r = mbd::run({"sh", "-s"}, {.input = script});
    ASSERT_EQ(r.status, 0) << r.err;
    std::vector<char> expected;
    for (char c : r.out)
        if (c != '\n')
            expected.push_back(c);
    ASSERT_EQ(expected.size(), pairs.size()) << r.err;
    size_t mismatches = 0;
    for (size_t i = 0; i < pairs.size(); ++i) {
        int ours = mbd::compare_versions(pairs[i].first, pairs[i].second);
        char c = ours < 0 ? '<' : ours == 0 ? '=' : '>';
        if (c != expected[i] && ++mismatches < 20)
            ADD_FAILURE() << pairs[i].first << " vs " << pairs[i].second << ": dpkg says " << expected[i]
                          << ", we say " << c;
    }
    EXPECT_EQ(mismatches, 0u) << "of " << pairs.size() << " pairs";
    RecordProperty("pairs", int(pairs.size()));
}
