// mbd-repo's command line, one file per command group (as git keeps one file per
// builtin): each define_* adds its subcommands; each handler calls one function of
// libcommon (repo/, model/, archive/) and prints its result (text, or --json).
// Each command's options live in one struct, made with std::make_shared and
// captured by its handler.
#pragma once

#include "app/entry.hpp"
#include "core/json.hpp"
#include "model/model.hpp"
#include "repo/packages.hpp"

#include <functional>
#include <iostream>
#include <string>
#include <vector>

namespace mbd::repo {

// Groups (one file each)
void define_setup(Cli& cli);      // setup.cpp: setup, create
void define_packages(Cli& cli);   // packages.cpp: install, migrate, port, remove, publish, maintain, ls, show, search
void define_output(Cli& cli);     // output.cpp: check, sources-list, dput-conf, site
void define_repository(Cli& cli); // model.cpp: the configuration model's groups
void define_source(Cli& cli);
void define_layout(Cli& cli);
void define_dist(Cli& cli);
void define_mirror(Cli& cli);     // mirror.cpp: mirror push
void define_snapshot(Cli& cli);   // snapshot.cpp: snapshot create, ls, remove
void define_import(Cli& cli);     // import.cpp: import

// Shared by the groups (print.cpp)
std::vector<std::string> comma_list(const std::vector<std::string>& args);
std::string source_line(const Source& s);
std::string source_text(const Source& s);
std::string layout_text(const Layout& l);
std::string dist_text(const Distribution& d);
std::string repo_text(const Repository& r);
std::string holding_text(const Holding& h);
void print_published(const std::vector<std::string>& dists);

// Items as JSON (an array of to_json(item)) or as text, one text(item) each.
template <typename T> void print_list(const std::vector<T>& items, bool json, const std::function<std::string(const T&)>& text)
{
    if (json) {
        Json a = Json::array();
        for (const auto& i : items)
            a.push(to_json(i));
        std::cout << a.dump();
        return;
    }
    for (const auto& i : items)
        std::cout << text(i);
}

} // namespace mbd::repo
