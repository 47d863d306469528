// control/log.cpp — see log.hpp.
#include "control/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace rsfwd::log {

std::optional<spdlog::level::level_enum> parse_level(std::string_view t) noexcept {
    using L = spdlog::level::level_enum;
    if (t == "trace") return L::trace;
    if (t == "debug") return L::debug;
    if (t == "info") return L::info;
    if (t == "warn" || t == "warning") return L::warn;
    if (t == "error") return L::err;
    if (t == "critical") return L::critical;
    if (t == "off") return L::off;
    return std::nullopt;
}

void init(const std::string& name, spdlog::level::level_enum level) {
    auto logger = spdlog::get(name);
    if (!logger) logger = spdlog::stderr_color_mt(name);
    logger->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] [%n] %v");
    spdlog::set_default_logger(logger);
    spdlog::set_level(level);
}

} // namespace rsfwd::log
