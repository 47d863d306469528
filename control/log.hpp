// control/log.hpp — one logger for the daemons and tools: spdlog on stderr, one format
// ("[time] [level] [name] message"), a level set by --log-level. stdout stays for what a command
// outputs (rsfwd run's stats JSON, rsctl's tables), never for logs. DPDK's own EAL/PMD log lines
// are routed into the same logger by dataplane/engine (eal_init).
// Thread: init() once at start, before other threads log; logging itself is thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <spdlog/common.h>

namespace rsfwd::log {

// "trace", "debug", "info", "warn" (or "warning"), "error", "critical", "off".
std::optional<spdlog::level::level_enum> parse_level(std::string_view text) noexcept;
// The names parse_level() takes, for --help and error messages.
inline constexpr std::string_view level_names = "trace, debug, info, warn, error, critical, off";

// Makes `name` the default logger on stderr at `level`.
void init(const std::string& name, spdlog::level::level_enum level = spdlog::level::info);

} // namespace rsfwd::log
