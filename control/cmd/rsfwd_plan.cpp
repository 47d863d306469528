// control/cmd/rsfwd_plan.cpp — `rsfwd-plan`: plan_main as a stand-alone tool (tests use it; users
// normally run `rsfwd plan`).
#include "control/plan.hpp"

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

int main(int argc, char** argv) {
    if (argc == 2 && std::string_view(argv[1]) == "--version") {
        std::puts("rsfwd-plan " RSFWD_VERSION);
        return 0;
    }
    std::vector<std::string> args{"plan"};
    for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
    std::vector<char*> av;
    av.reserve(args.size());
    for (auto& a : args) av.push_back(a.data());
    return rsfwd::plan_main(static_cast<int>(av.size()), av.data());
}
