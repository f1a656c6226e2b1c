#include "core/status.hpp"

#include <gtest/gtest.h>

using namespace mbd;

TEST(Status, SeedLifecycle)
{
    ModelStatus m;
    EXPECT_EQ(m.display(), "removed");
    EXPECT_TRUE(m.activate_error());
    m = m.after_prepare();
    EXPECT_EQ(m.display(), "prepared -");
    EXPECT_TRUE(m.activate_error()); // unchecked
    m = m.after_check(true, 100);
    EXPECT_EQ(m.display(), "prepared");
    EXPECT_EQ(m.last_check, 100);
    EXPECT_FALSE(m.activate_error());
    m = m.activate();
    EXPECT_EQ(m.display(), "active");
    m = m.after_change();
    EXPECT_EQ(m.display(), "active *");
    m = m.after_check(false, 200); // an active item that fails goes on auto-reactivate
    EXPECT_EQ(m.display(), "prepared A");
    m = m.after_check(false, 300);
    EXPECT_EQ(m.display(), "prepared A");
    m = m.after_change(); // a change keeps it waiting: the next passing check reactivates it
    EXPECT_EQ(m.display(), "prepared A");
    m = m.after_check(true, 400);
    EXPECT_EQ(m.display(), "active");
    m = m.deactivate();
    EXPECT_EQ(m.display(), "prepared");
    m = m.after_remove();
    EXPECT_EQ(m.display(), "removed");
}

TEST(Status, ActivatingAFailedItemSetsAutoReactivate)
{
    ModelStatus m = ModelStatus{}.after_prepare().after_check(false, 1);
    EXPECT_EQ(m.display(), "prepared x");
    EXPECT_FALSE(m.activate_error());
    m = m.activate(); // the seed's remote interconnect step 1
    EXPECT_EQ(m.display(), "prepared A");
    EXPECT_EQ(m.deactivate().display(), "prepared x");
    EXPECT_EQ(m.after_check(true, 2).display(), "active");
}

TEST(Status, Names)
{
    EXPECT_EQ(parse_status("active"), Status::active);
    EXPECT_EQ(parse_check_flag("failed-reactivate"), CheckFlag::failed_reactivate);
    EXPECT_FALSE(parse_status("bogus"));
    EXPECT_EQ(flag_symbol(CheckFlag::changed), '*');
}
