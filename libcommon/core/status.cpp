#include "core/status.hpp"

namespace mbd {

std::string_view to_string(Status s)
{
    switch (s) {
    case Status::removed: return "removed";
    case Status::prepared: return "prepared";
    case Status::active: return "active";
    }
    return "?";
}

std::string_view to_string(CheckFlag f)
{
    switch (f) {
    case CheckFlag::none: return "none";
    case CheckFlag::unchecked: return "unchecked";
    case CheckFlag::changed: return "changed";
    case CheckFlag::failed: return "failed";
    case CheckFlag::failed_reactivate: return "failed-reactivate";
    }
    return "?";
}

std::optional<Status> parse_status(std::string_view s)
{
    for (auto v : {Status::removed, Status::prepared, Status::active})
        if (to_string(v) == s)
            return v;
    return std::nullopt;
}

std::optional<CheckFlag> parse_check_flag(std::string_view s)
{
    for (auto v : {CheckFlag::none, CheckFlag::unchecked, CheckFlag::changed, CheckFlag::failed,
                   CheckFlag::failed_reactivate})
        if (to_string(v) == s)
            return v;
    return std::nullopt;
}

char flag_symbol(CheckFlag f)
{
    switch (f) {
    case CheckFlag::none: return ' ';
    case CheckFlag::unchecked: return '-';
    case CheckFlag::changed: return '*';
    case CheckFlag::failed: return 'x';
    case CheckFlag::failed_reactivate: return 'A';
    }
    return '?';
}

std::string ModelStatus::display() const
{
    std::string s(to_string(status));
    if (status != Status::removed && flag != CheckFlag::none) {
        s += ' ';
        s += flag_symbol(flag);
    }
    return s;
}

ModelStatus ModelStatus::after_prepare() const
{
    ModelStatus m = *this;
    if (m.status == Status::removed)
        m.status = Status::prepared;
    m.flag = CheckFlag::unchecked;
    return m;
}

ModelStatus ModelStatus::after_change() const
{
    ModelStatus m = *this;
    // (an item waiting to be reactivated keeps waiting: its next passing check does it)
    if (m.status != Status::removed && m.flag != CheckFlag::failed_reactivate)
        m.flag = CheckFlag::changed;
    return m;
}

ModelStatus ModelStatus::after_check(bool ok, long long now) const
{
    ModelStatus m = *this;
    m.last_check = now;
    if (ok) {
        if (m.flag == CheckFlag::failed_reactivate)
            m.status = Status::active;
        m.flag = CheckFlag::none;
    } else if (m.status == Status::active || m.flag == CheckFlag::failed_reactivate) {
        // an active item that fails is taken out of service until a check passes
        m.status = Status::prepared;
        m.flag = CheckFlag::failed_reactivate;
    } else {
        m.flag = CheckFlag::failed;
    }
    return m;
}

ModelStatus ModelStatus::after_remove() const { return ModelStatus{Status::removed, CheckFlag::unchecked, 0}; }

std::optional<std::string> ModelStatus::activate_error() const
{
    if (status == Status::removed)
        return std::string("it is not prepared (run prepare first)");
    if (status == Status::prepared && (flag == CheckFlag::unchecked || flag == CheckFlag::changed))
        return std::string("it is not checked (run check first)");
    return std::nullopt;
}

ModelStatus ModelStatus::activate() const
{
    ModelStatus m = *this;
    if (m.flag == CheckFlag::failed || m.flag == CheckFlag::failed_reactivate)
        m.flag = CheckFlag::failed_reactivate; // activated as soon as a check passes
    else
        m.status = Status::active;
    return m;
}

ModelStatus ModelStatus::deactivate() const
{
    ModelStatus m = *this;
    if (m.status == Status::active)
        m.status = Status::prepared;
    if (m.flag == CheckFlag::failed_reactivate)
        m.flag = CheckFlag::failed;
    return m;
}

} // namespace mbd
