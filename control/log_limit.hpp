// control/log_limit.hpp — a repeated condition is one log line with a count (DESIGN.md
// "Reliability and security": everything bounded, logs included).
//
// What: LogLimit keys log lines by the condition they report ("unknown peer 10.0.0.9", "E6 nva1
// instance 0 only"). The first line of a key in a window is written at once; later ones in the
// same window are only counted (the newest text is kept), and when the window ends one summary
// line is written: "<newest text> (repeated N times in the last T s)". A key that stays quiet for
// a window is forgotten. At most `max_keys` keys are tracked; lines of further keys in a full
// window are folded into one "log_limit" key, so memory and output stay bounded whatever the
// input.
// Thread: one thread (the control thread / the io_context thread of the owner). Cost: one hash
// lookup per line; flush() is O(keys).
// Summaries are written by the next log() or flush() call after the window ended: an owner with
// an io_context calls flush() from a timer (TimedLogLimit does that).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace rsfwd {

class LogLimit {
public:
    using Clock = std::chrono::steady_clock;
    using Level = spdlog::level::level_enum;

    explicit LogLimit(std::chrono::seconds window = std::chrono::seconds(10),
                      std::size_t max_keys = 1024)
        : window_(window), max_keys_(max_keys) {}

    // Writes `text` at `level` now, or counts it under `key` (see above). Returns true when the
    // line was written now.
    bool log(Level level, std::string_view key, std::string text,
             Clock::time_point now = Clock::now()) {
        flush(now);
        auto it = keys_.find(key);
        if (it == keys_.end()) {
            if (keys_.size() >= max_keys_) {
                it = keys_.find(overflow_key);
                if (it == keys_.end()) {
                    it = keys_.emplace(std::string(overflow_key), Entry{now, 0, level, {}}).first;
                }
                ++it->second.repeats;
                it->second.text = "log lines of more conditions than tracked, last: " + text;
                return false;
            }
            keys_.emplace(std::string(key), Entry{now, 0, level, {}});
            spdlog::log(level, "{}", text);
            ++written_;
            return true;
        }
        ++it->second.repeats;
        it->second.level = level;
        it->second.text = std::move(text);
        return false;
    }

    // Writes the summaries of windows that ended by `now`, forgets quiet keys. Returns when the
    // next summary may be due (nullopt: nothing is waiting).
    std::optional<Clock::time_point> flush(Clock::time_point now = Clock::now()) {
        std::optional<Clock::time_point> next;
        for (auto it = keys_.begin(); it != keys_.end();) {
            auto& e = it->second;
            if (now - e.since < window_) {
                if (e.repeats != 0)
                    next = next ? std::min(*next, e.since + window_) : e.since + window_;
                ++it;
                continue;
            }
            if (e.repeats == 0) { // quiet for a whole window: forget it
                it = keys_.erase(it);
                continue;
            }
            spdlog::log(e.level, "{} (repeated {} times in the last {} s)", e.text, e.repeats,
                        window_.count());
            ++written_;
            suppressed_ += e.repeats;
            e.since = now;
            e.repeats = 0;
            ++it;
        }
        return next;
    }

    [[nodiscard]] std::uint64_t written() const noexcept { return written_; }
    // Lines folded into summaries so far.
    [[nodiscard]] std::uint64_t suppressed() const noexcept { return suppressed_; }
    [[nodiscard]] std::size_t keys() const noexcept { return keys_.size(); }

    static constexpr std::string_view overflow_key = "log_limit";

private:
    struct Entry {
        Clock::time_point since; // start of the current window
        std::uint64_t repeats;   // lines counted, not written, in this window
        Level level;
        std::string text; // the newest counted line
    };
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    std::chrono::seconds window_;
    std::size_t max_keys_;
    std::unordered_map<std::string, Entry, Hash, std::equal_to<>> keys_;
    std::uint64_t written_ = 0, suppressed_ = 0;
};

// A LogLimit whose summaries are written on time by a timer on the owner's io_context.
class TimedLogLimit {
public:
    explicit TimedLogLimit(boost::asio::io_context& io,
                           std::chrono::seconds window = std::chrono::seconds(10),
                           std::size_t max_keys = 1024)
        : limit_(window, max_keys), timer_(io) {}

    bool log(LogLimit::Level level, std::string_view key, std::string text) {
        const bool now = limit_.log(level, key, std::move(text));
        if (!now) arm();
        return now;
    }
    [[nodiscard]] const LogLimit& limit() const noexcept { return limit_; }

private:
    void arm() {
        if (armed_) return;
        const auto next = limit_.flush();
        if (!next) return;
        armed_ = true;
        timer_.expires_at(*next);
        timer_.async_wait([this](const boost::system::error_code& ec) {
            if (ec) return; // cancelled: the owner is going away
            armed_ = false;
            arm();
        });
    }

    LogLimit limit_;
    boost::asio::steady_timer timer_;
    bool armed_ = false;
};

} // namespace rsfwd
