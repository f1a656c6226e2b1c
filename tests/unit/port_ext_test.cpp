// repo/port_ext: which URLs port-ext takes before it fetches anything.
#include "repo/port_ext.hpp"

#include <gtest/gtest.h>

using mbd::repo::port_ext_url_problem;

TEST(PortExtUrl, TakesTheDscOfASourceOverHttpHttpsAndFile)
{
    EXPECT_EQ(port_ext_url_problem("http://deb.debian.org/debian/pool/main/h/hello/hello_2.10-3.dsc"), std::nullopt);
    EXPECT_EQ(port_ext_url_problem("https://example.org/x/libfoo+bar_1.0~rc1+dfsg-2~bpo12+1.dsc"), std::nullopt);
    EXPECT_EQ(port_ext_url_problem("file:///srv/sources/netbase_6.4.dsc"), std::nullopt);
}

TEST(PortExtUrl, RefusesOtherSchemesAndNamesThatAreNoSourceFileName)
{
    for (const char* url : {"ftp://example.org/hello_1.0.dsc", "hello_1.0.dsc", "/tmp/hello_1.0.dsc",
                            "http://example.org/", "http://example.org/hello_1.0.tar.xz", "http://example.org/hello.dsc",
                            "http://example.org/Hello_1.0.dsc", "http://example.org/hello_1:1.0-1.dsc",
                            "http://example.org/hello_1.0_1.dsc", "http://example.org/hello_1.0.dsc?x=1",
                            "http://example.org/hello_1.0.dsc#f", "http://example.org/a b/hello_1.0.dsc",
                            "http://example.org/..", "file://", "http://example.org/hello_%31.0.dsc",
                            "http://example.org/.hello_1.0.dsc", "http://example.org/hello_.dsc"})
        EXPECT_NE(port_ext_url_problem(url), std::nullopt) << url;
}
