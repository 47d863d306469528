// tests/unit/daemon/test_log_limit.cpp — LogLimit: a repeated condition is one line now and one
// summary with a count per window; keys are bounded.
#include "control/log_limit.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <sstream>

using namespace rsfwd;
using namespace std::chrono_literals;

namespace {

struct Capture {
    std::ostringstream out;
    std::shared_ptr<spdlog::logger> old = spdlog::default_logger();
    Capture() {
        auto l = std::make_shared<spdlog::logger>(
            "capture", std::make_shared<spdlog::sinks::ostream_sink_st>(out));
        l->set_pattern("%v");
        spdlog::set_default_logger(l);
    }
    ~Capture() { spdlog::set_default_logger(old); }
    std::vector<std::string> lines() const {
        std::vector<std::string> v;
        std::istringstream in(out.str());
        for (std::string s; std::getline(in, s);) v.push_back(s);
        return v;
    }
};

} // namespace

TEST(LogLimit, FirstLineNowThenOneSummaryPerWindow) {
    Capture cap;
    LogLimit lim(10s);
    const auto t0 = LogLimit::Clock::time_point{} + 1000s;
    EXPECT_TRUE(lim.log(spdlog::level::info, "k", "cond 1", t0));
    for (int i = 2; i <= 1000; ++i) {
        EXPECT_FALSE(lim.log(spdlog::level::info, "k", "cond " + std::to_string(i), t0 + 1s));
    }
    EXPECT_EQ(cap.lines().size(), 1u);
    EXPECT_EQ(lim.flush(t0 + 5s), t0 + 10s); // a summary is due at the end of the window
    EXPECT_EQ(cap.lines().size(), 1u);
    (void)lim.flush(t0 + 10s);
    ASSERT_EQ(cap.lines().size(), 2u);
    EXPECT_EQ(cap.lines()[1], "cond 1000 (repeated 999 times in the last 10 s)");
    // Quiet for a window: forgotten, the next occurrence is written at once again.
    EXPECT_FALSE(lim.flush(t0 + 25s));
    EXPECT_EQ(lim.keys(), 0u);
    EXPECT_TRUE(lim.log(spdlog::level::info, "k", "cond again", t0 + 26s));
    EXPECT_EQ(cap.lines().size(), 3u);
}

TEST(LogLimit, KeysAreIndependentAndBounded) {
    Capture cap;
    LogLimit lim(10s, 4);
    const auto t0 = LogLimit::Clock::time_point{} + 1000s;
    for (int k = 0; k < 100; ++k) {
        for (int i = 0; i < 3; ++i) {
            (void)lim.log(spdlog::level::warn, "key" + std::to_string(k), "line", t0);
        }
    }
    EXPECT_EQ(cap.lines().size(), 4u); // the first line of each tracked key
    EXPECT_LE(lim.keys(), 5u);         // 4 + the overflow key
    (void)lim.flush(t0 + 10s);
    // 4 summaries (2 repeats each) + 1 for the 96 untracked keys' 288 lines.
    EXPECT_EQ(cap.lines().size(), 9u);
    EXPECT_NE(cap.out.str().find("(repeated 288 times"), std::string::npos) << cap.out.str();
}
