// control/cmd/rsctl.cpp — `rsctl`, the operator's client for a running rsfwd.
//
// Every command maps to one API request (control/api/server.hpp). Output is a readable table
// by default (at most 100 columns; --wide for every column) and the daemon's JSON with --json;
// both flags go anywhere on the line. Exit status (docs/api.md): 0 ok, 1 the daemon refused the
// request or the operation did not take effect (a rejected announce, a withdraw of a prefix
// that was not announced), 2 usage error, 3 the daemon is not reachable.
//
// Words are checked before CLI11 parses them so that a typo gets a precise answer
// ("unknown command 'pers' (did you mean 'peers'?)") rather than "arguments were not expected".
// `--completion bash` (hidden) prints a bash completion script generated from the same CLI11
// definitions; meson installs it, and help2man turns --help/--version into the man page.
#include "control/api/server.hpp"
#include "control/model.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

using rsfwd::api::Json;

constexpr std::size_t default_width = 100;

enum Exit : int { exit_ok = 0, exit_failed = 1, exit_usage = 2, exit_unreachable = 3 };

// ---- cells ------------------------------------------------------------------------------------

std::string scalar(const Json& v) {
    if (v.is_string()) {
        const auto s = v.get<std::string>();
        return s.empty() ? "-" : s;
    }
    if (v.is_null()) return "-";
    if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
    return v.dump();
}

// Objects become "k=v k=v": never raw JSON in a cell.
std::string cell(const Json& v) {
    if (v.is_array()) {
        std::string out;
        for (const auto& e : v) {
            if (!out.empty()) out += ' ';
            out += cell(e);
        }
        return out.empty() ? "-" : out;
    }
    if (v.is_object()) {
        std::string out;
        for (const auto& [k, e] : v.items()) {
            if (!out.empty()) out += ' ';
            out += k + "=" + cell(e);
        }
        return out.empty() ? "-" : out;
    }
    return scalar(v);
}

// An empty AS path is a real value (a VPN route, a locally originated prefix): say so.
std::string cell_for(const std::string& key, const Json& v) {
    if (key.find("as_path") != std::string::npos && v.is_string() && v.get<std::string>().empty())
        return "(empty)";
    return cell(v);
}

std::string uptime_text(std::int64_t s) {
    if (s < 0) return "-";
    char buf[32];
    if (s < 86400) {
        std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                      static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
    } else {
        std::snprintf(buf, sizeof buf, "%lldd%02lldh", static_cast<long long>(s / 86400),
                      static_cast<long long>(s / 3600 % 24));
    }
    return buf;
}

std::string header_of(const std::string& key) {
    std::string h = key;
    std::transform(h.begin(), h.end(), h.begin(), [](unsigned char ch) {
        return ch == '_' ? ' ' : static_cast<char>(std::toupper(ch));
    });
    return h;
}

// Width in terminal columns: UTF-8 continuation bytes take none.
std::size_t display_width(std::string_view s) {
    return static_cast<std::size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string truncate_to(const std::string& s, std::size_t width) {
    if (display_width(s) <= width) return s;
    std::string out;
    std::size_t w = 0;
    for (char c : s) {
        const bool starts = (c & 0xC0) != 0x80;
        if (starts && w + 1 >= width) break;
        if (starts) ++w;
        out += c;
    }
    return out + "…";
}

bool is_table(const Json& v) {
    return v.is_array() && !v.empty() &&
           std::all_of(v.begin(), v.end(), [](const Json& e) { return e.is_object(); });
}

bool is_section(const Json& v) {
    return v.is_object() || is_table(v);
}

// ---- tables -----------------------------------------------------------------------------------

struct Column {
    std::string header;
    std::vector<std::string> cells;
    bool flex = false; // may be cut to fit (free text: last_error, reason)
};

std::size_t column_width(const Column& c) {
    std::size_t w = display_width(c.header);
    for (const auto& s : c.cells) w = std::max(w, display_width(s));
    return w;
}

// Lines of the table within `limit` columns, cutting the last column if it is free text; none
// when it does not fit.
std::optional<std::vector<std::string>> layout(std::vector<Column> cols, const std::string& indent,
                                               std::size_t limit) {
    if (cols.empty()) return std::vector<std::string>{};
    std::vector<std::size_t> width;
    std::size_t total = indent.size();
    for (const auto& c : cols) {
        width.push_back(column_width(c));
        total += width.back();
    }
    total += 2 * (cols.size() - 1);
    if (total > limit) {
        constexpr std::size_t min_flex = 16;
        const std::size_t rest = total - width.back();
        if (!cols.back().flex || rest + min_flex > limit) return std::nullopt;
        width.back() = limit - rest;
        for (auto& s : cols.back().cells) s = truncate_to(s, width.back());
    }
    std::vector<std::string> lines;
    const std::size_t rows = cols.front().cells.size();
    for (std::size_t r = 0; r <= rows; ++r) {
        std::string out = indent;
        for (std::size_t c = 0; c < cols.size(); ++c) {
            const auto& s = r == 0 ? cols[c].header : cols[c].cells[r - 1];
            out += s;
            if (c + 1 < cols.size()) out += std::string(width[c] - display_width(s) + 2, ' ');
        }
        while (!out.empty() && out.back() == ' ') out.pop_back();
        lines.push_back(std::move(out));
    }
    return lines;
}

// "prefix k=v k=v ..." wrapped at `limit`, continuation lines indented under the first item.
void print_wrapped(const std::string& prefix, const std::vector<std::string>& items,
                   std::size_t limit) {
    std::string line = prefix;
    const std::string cont(display_width(prefix), ' ');
    bool first = true;
    for (const auto& item : items) {
        if (!first && display_width(line) + 1 + display_width(item) > limit) {
            std::puts(line.c_str());
            line = cont + item;
        } else {
            line += (first ? "" : " ") + item;
        }
        first = false;
    }
    std::puts(line.c_str());
}

std::vector<std::string> key_values(const Json& obj) {
    std::vector<std::string> items;
    for (const auto& [k, v] : obj.items()) items.push_back(k + "=" + cell_for(k, v));
    return items;
}

// The field that names a row: what the daemon calls it, else its first field. The forwarding
// stats come through nlohmann::json (keys sorted), so "first" alone would pick hw_ierrors.
std::string label_key(const Json& row) {
    for (const char* k : {"name", "lcore", "prefix", "peer", "cmd", "view"}) {
        if (row.contains(k) && !is_section(row.at(k))) return k;
    }
    return row.empty() ? std::string() : row.begin().key();
}

std::string row_label(const Json& row) {
    const auto k = label_key(row);
    if (k.empty()) return "-";
    const auto& v = row.at(k);
    return v.is_string() ? scalar(v) : k + "=" + cell(v);
}

void print_human(const Json& v, const std::string& indent, std::size_t limit);

// A list of objects: a table of the scalar fields, then each row's nested objects as
// "LABEL KEY: k=v ..." lines. A table wider than `limit` prints as one wrapped record per row.
void print_rows(const Json& rows, const std::string& indent, std::size_t limit) {
    std::vector<std::string> keys, nested;
    for (const auto& r : rows) {
        for (const auto& [k, e] : r.items()) {
            auto& into = e.is_object() || is_table(e) ? nested : keys;
            if (std::find(into.begin(), into.end(), k) == into.end()) into.push_back(k);
        }
    }
    // The naming field first.
    if (const auto it = std::find(keys.begin(), keys.end(), label_key(rows.front()));
        it != keys.end()) {
        std::rotate(keys.begin(), it, it + 1);
    }
    std::vector<Column> cols;
    for (const auto& k : keys) {
        Column c{header_of(k), {}, k == "reason" || k == "last_error" || k == "message"};
        for (const auto& r : rows) c.cells.push_back(r.contains(k) ? cell_for(k, r.at(k)) : "-");
        cols.push_back(std::move(c));
    }
    if (auto lines = layout(cols, indent, limit)) {
        for (const auto& l : *lines) std::puts(l.c_str());
        for (const auto& k : nested) {
            for (const auto& r : rows) {
                if (!r.contains(k)) continue;
                if (r.at(k).is_object()) {
                    std::string prefix = indent;
                    prefix.append(row_label(r)).append(" ").append(k).append(": ");
                    print_wrapped(prefix, key_values(r.at(k)), limit);
                } else {
                    std::printf("%s%s %s:\n", indent.c_str(), row_label(r).c_str(), k.c_str());
                    print_human(r.at(k), indent + "  ", limit);
                }
            }
        }
        return;
    }
    for (const auto& r : rows) {
        std::vector<std::string> items;
        const auto label = label_key(r);
        for (const auto& [k, e] : r.items()) {
            if (k != label && !is_section(e)) items.push_back(k + "=" + cell_for(k, e));
        }
        print_wrapped(indent + row_label(r) + "  ", items, limit);
        for (const auto& [k, e] : r.items()) {
            if (e.is_object()) {
                std::string prefix = indent;
                prefix.append("  ").append(k).append(": ");
                print_wrapped(prefix, key_values(e), limit);
            } else if (is_table(e)) {
                std::printf("%s  %s:\n", indent.c_str(), k.c_str());
                print_human(e, indent + "    ", limit);
            }
        }
    }
}

// Objects print scalar fields as "key: value", then each table or nested object as a section.
void print_human(const Json& v, const std::string& indent, std::size_t limit) {
    if (is_table(v)) {
        print_rows(v, indent, limit);
        return;
    }
    if (!v.is_object()) {
        std::printf("%s%s\n", indent.c_str(), cell(v).c_str());
        return;
    }
    std::size_t key_width = 0;
    for (const auto& [k, e] : v.items()) {
        if (!is_section(e)) key_width = std::max(key_width, k.size());
    }
    for (const auto& [k, e] : v.items()) {
        if (is_section(e)) continue;
        std::string key = k + ":";
        key.resize(key_width + 3, ' ');
        if (e.is_array() && !e.empty()) {
            std::vector<std::string> items;
            for (const auto& x : e) items.push_back(cell(x));
            print_wrapped(indent + key, items, limit);
        } else {
            std::printf("%s%s%s\n", indent.c_str(), key.c_str(), cell_for(k, e).c_str());
        }
    }
    for (const auto& [k, e] : v.items()) {
        if (!is_section(e)) continue;
        std::printf("%s%s:\n", indent.c_str(), k.c_str());
        print_human(e, indent + "  ", limit);
    }
}

// `rsctl peers`: the columns an operator reads first, in that order; --wide adds the rest.
void print_peers(const Json& rows, bool wide) {
    if (!is_table(rows)) {
        print_human(rows, "", wide ? std::numeric_limits<std::size_t>::max() : default_width);
        return;
    }
    struct Spec {
        const char* key;
        const char* header;
    };
    static constexpr Spec first[] = {
        {"name", "NAME"},     {"kind", "KIND"},     {"state", "STATE"},    {"uptime_s", "UPTIME"},
        {"received", "RCVD"}, {"accepted", "ACPT"}, {"advertised", "ADV"}, {"remote", "REMOTE"},
    };
    std::vector<std::pair<std::string, std::string>> specs;
    for (const auto& s : first) specs.emplace_back(s.key, s.header);
    if (wide) {
        specs.emplace_back("last_error", "LAST ERROR");
        for (const auto& r : rows) {
            for (const auto& item : r.items()) {
                const std::string& k = item.key();
                const bool known = std::any_of(specs.begin(), specs.end(),
                                               [&](const auto& s) { return s.first == k; });
                if (!known) specs.emplace_back(k, header_of(k));
            }
        }
    }
    std::vector<Column> cols;
    for (const auto& [key, header] : specs) {
        Column c{header, {}, key == "last_error"};
        for (const auto& r : rows) {
            if (key == "uptime_s") {
                const bool up = r.value("established", false) && r.contains("uptime_s") &&
                                r.at("uptime_s").is_number();
                c.cells.push_back(up ? uptime_text(r.at("uptime_s").get<std::int64_t>()) : "-");
            } else {
                c.cells.push_back(r.contains(key) ? cell_for(key, r.at(key)) : "-");
            }
        }
        cols.push_back(std::move(c));
    }
    if (wide) {
        const auto lines = layout(cols, "", std::numeric_limits<std::size_t>::max());
        for (const auto& l : lines.value_or(std::vector<std::string>{})) std::puts(l.c_str());
        return;
    }
    // Long names: drop columns from the right until the table fits, and say so.
    std::vector<std::string> hidden;
    while (!cols.empty()) {
        if (auto lines = layout(cols, "", default_width)) {
            for (const auto& l : *lines) std::puts(l.c_str());
            break;
        }
        hidden.insert(hidden.begin(), cols.back().header);
        cols.pop_back();
    }
    if (!hidden.empty()) {
        std::printf("(not shown: %zu column%s; rsctl peers --wide)\n", hidden.size(),
                    hidden.size() == 1 ? "" : "s");
    }
    // Why a session is down, in full, under the table (an Established session's last error is
    // history: --wide shows it).
    bool first_note = true;
    for (const auto& r : rows) {
        const auto err = r.contains("last_error") ? r.at("last_error") : Json();
        if (r.value("established", true) || !err.is_string()) continue;
        if (first_note) std::puts("\nlast error of sessions that are down:");
        first_note = false;
        std::vector<std::string> words;
        std::istringstream in(err.get<std::string>());
        for (std::string w; in >> w;) words.push_back(w);
        print_wrapped("  " + r.value("name", std::string("-")) + ": ", words, default_width);
    }
}

// ---- words before CLI11 -----------------------------------------------------------------------

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
        }
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

// The closest candidate within two edits (or one the word starts), if any.
std::optional<std::string> suggest(std::string_view word, const std::vector<std::string>& names) {
    std::optional<std::string> best;
    std::size_t best_d = 3;
    for (const auto& n : names) {
        std::size_t d = edit_distance(word, n);
        if (word.size() >= 3 && n.starts_with(word)) d = std::min<std::size_t>(d, 1);
        if (d < best_d) {
            best_d = d;
            best = n;
        }
    }
    return best;
}

std::vector<CLI::App*> subcommands_of(CLI::App* app) {
    return app->get_subcommands([](CLI::App* a) { return !a->get_name().empty(); });
}

std::string command_path(const CLI::App* app) {
    std::vector<std::string> names;
    for (const CLI::App* a = app; a->get_parent(); a = a->get_parent())
        names.push_back(a->get_name());
    std::string out;
    for (auto it = names.rbegin(); it != names.rend(); ++it)
        out.append(out.empty() ? "" : " ").append(*it);
    return out;
}

const CLI::Option* find_option(CLI::App* app, const std::string& name) {
    for (CLI::App* a = app; a; a = a->get_parent()) {
        if (const auto* o = a->get_option_no_throw(name)) return o;
    }
    return nullptr;
}

// "--socket", "-s": every way to write the option.
std::vector<std::string> spellings(const CLI::Option* o) {
    std::vector<std::string> out;
    for (const auto& l : o->get_lnames()) out.push_back("--" + l);
    for (const auto& s : o->get_snames()) out.push_back("-" + s);
    return out;
}

std::vector<std::string> option_names(CLI::App* app) {
    std::vector<std::string> names;
    for (CLI::App* a = app; a; a = a->get_parent()) {
        for (const auto* o : a->get_options()) {
            for (const auto& l : o->get_lnames()) names.push_back("--" + l);
        }
    }
    return names;
}

struct UsageError {
    std::string message;
};

// Walks argv along the subcommand tree: an unknown subcommand or option is a usage error with
// a suggestion. Everything else is left to CLI11.
std::optional<UsageError> check_words(CLI::App& app, int argc, char** argv) {
    CLI::App* cur = &app;
    for (int i = 1; i < argc; ++i) {
        const std::string word = argv[i];
        if (word == "--") break;
        if (word.size() > 1 && word[0] == '-') {
            const bool is_long = word.starts_with("--");
            const std::string name = is_long ? word.substr(0, word.find('=')) : word.substr(0, 2);
            const auto* opt = find_option(cur, name);
            if (!opt) {
                std::string msg = "unknown option '" + name + "'";
                if (is_long) {
                    if (auto s = suggest(name, option_names(cur)))
                        msg += " (did you mean '" + *s + "'?)";
                }
                const auto where = command_path(cur);
                return UsageError{msg + "; see rsctl " + (where.empty() ? "" : where + " ") +
                                  "--help"};
            }
            const bool takes_value = opt->get_items_expected_min() > 0;
            const bool value_attached =
                is_long ? word.find('=') != std::string::npos : word.size() > 2;
            if (takes_value && !value_attached) ++i;
            continue;
        }
        auto subs = subcommands_of(cur);
        if (subs.empty()) continue; // a positional argument of a leaf command
        const auto it = std::find_if(subs.begin(), subs.end(),
                                     [&](const CLI::App* s) { return s->check_name(word); });
        if (it != subs.end()) {
            cur = *it;
            continue;
        }
        std::vector<std::string> names;
        names.reserve(subs.size());
        for (const auto* s : subs) names.push_back(s->get_name());
        const auto where = command_path(cur);
        const auto full = [&](const std::string& w) {
            if (where.empty()) return w;
            std::string out = where;
            return out.append(" ").append(w);
        };
        std::string msg = "unknown command '" + full(word) + "'";
        if (auto s = suggest(word, names)) {
            msg += " (did you mean '" + full(*s) + "'?)";
        } else {
            std::string list;
            for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
            msg += "; commands: " + list;
        }
        return UsageError{msg};
    }
    return std::nullopt;
}

// ---- bash completion --------------------------------------------------------------------------

std::string bash_completion(CLI::App& app,
                            const std::map<std::string, std::vector<std::string>>& values) {
    std::string value_opts, word_lists, transitions;
    std::vector<std::string> seen_value_opts;
    std::string global_words; // the root's options work at every level (fallthrough)
    for (const auto* o : app.get_options()) {
        if (o->get_group().empty() || o == app.get_help_ptr() || o == app.get_version_ptr())
            continue;
        for (const auto& n : spellings(o)) global_words += n + " ";
    }
    auto walk = [&](auto& self, CLI::App* a, const std::string& path) -> void {
        std::string words;
        for (CLI::App* s : subcommands_of(a)) {
            words += s->get_name() + " ";
            transitions += "            \"" + path + ":" + s->get_name() + "\") path=\"" +
                           (path.empty() ? "" : path + " ") + s->get_name() + "\" ;;\n";
        }
        for (const auto* o : a->get_options()) {
            if (o->get_group().empty()) continue; // hidden
            for (const auto& n : spellings(o)) {
                words += n + " ";
                const bool takes_value = o->get_items_expected_min() > 0;
                if (takes_value && std::find(seen_value_opts.begin(), seen_value_opts.end(), n) ==
                                       seen_value_opts.end()) {
                    seen_value_opts.push_back(n);
                    value_opts += (value_opts.empty() ? "" : "|") + n;
                }
            }
        }
        if (const auto v = values.find(path); v != values.end()) {
            for (const auto& w : v->second) words += w + " ";
        }
        if (!path.empty()) words += global_words;
        if (!words.empty()) words.pop_back();
        word_lists += "        \"" + path + "\") words=\"" + words + "\" ;;\n";
        for (CLI::App* s : subcommands_of(a))
            self(self, s, path.empty() ? s->get_name() : path + " " + s->get_name());
    };
    walk(walk, &app, "");
    if (value_opts.empty()) value_opts = "--no-value-options";
    return "# bash completion for rsctl — generated by `rsctl --completion bash` from its CLI11\n"
           "# definitions (control/cmd/rsctl.cpp); installed by meson.\n"
           "_rsctl() {\n"
           "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
           "    local path=\"\" words=\"\" i w skip=0\n"
           "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
           "        w=${COMP_WORDS[i]}\n"
           "        if ((skip)); then skip=0; continue; fi\n"
           "        case \"$w\" in\n"
           "            " +
           value_opts +
           ") skip=1; continue ;;\n"
           "            -*) continue ;;\n"
           "        esac\n"
           "        case \"$path:$w\" in\n" +
           transitions +
           "        esac\n"
           "    done\n"
           "    case \"$prev\" in\n"
           "        -s|--socket) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
           "        " +
           value_opts +
           ") return ;;\n"
           "    esac\n"
           "    case \"$path\" in\n" +
           word_lists +
           "    esac\n"
           "    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
           "}\n"
           "complete -F _rsctl rsctl\n";
}

// ---- results that are failures ----------------------------------------------------------------

// A request the daemon answered but that did not take effect: the reason, for stderr.
std::optional<std::string> failed_operation(const std::string& cmd, const Json& result) {
    if (cmd == "announce" && result.is_object() && result.contains("accepted") &&
        !result.value("accepted", true)) {
        return result.value("announced", std::string("the route")) + " was " +
               scalar(result.value("status", Json("rejected")));
    }
    return std::nullopt;
}

int rsctl_main(int argc, char** argv) {
    CLI::App app{"rsctl controls a running rsfwd (Route Server emulator on DPDK).\n"
                 "It talks to the daemon's JSON API on a Unix socket: tables by default (at most "
                 "100 columns, --wide for all), the daemon's JSON with --json.",
                 "rsctl"};
    app.footer("Examples:\n"
               "  rsctl peers                            sessions, uptime, route counts\n"
               "  rsctl routes learned nva/sdwan@0       what a peer sent, accepted or why not\n"
               "  rsctl fib vnet 172.16.0.10             the route and the FIB's answer\n"
               "  rsctl stats --json                     the counters, for jq\n"
               "  rsctl announce vpn/branch 10.2.0.0/16  a route from a site without BGP\n"
               "\n"
               "Exit status:\n"
               "  0  ok\n"
               "  1  the daemon refused the request, or it did not take effect (a rejected\n"
               "     announce, a withdraw of a prefix that was not announced); why on stderr\n"
               "  2  usage error (unknown command or option, bad prefix, missing argument)\n"
               "  3  the daemon is not reachable (no socket, nobody listening, no answer)\n"
               "\n"
               "`rsctl COMMAND --help` for each command; docs/api.md for the JSON API.");
    app.require_subcommand(1);
    app.fallthrough(); // global flags anywhere: `rsctl peers --json`
    app.set_version_flag("--version", "rsctl " RSFWD_VERSION);
    std::string socket = rsfwd::api::default_socket_path();
    bool as_json = false, wide = false;
    int timeout_ms = 5000;
    // The default is not printed: it depends on who runs rsctl (and the man page is built once).
    app.add_option("-s,--socket", socket,
                   "API socket of the daemon (default: $RSFWD_SOCKET, else /run/rsfwd/rsfwd.sock "
                   "as root, else $XDG_RUNTIME_DIR/rsfwd.sock or /tmp/rsfwd-$UID.sock)");
    app.add_flag("-j,--json", as_json, "print the daemon's JSON answer (anywhere on the line)");
    app.add_flag("-w,--wide", wide, "every column, however wide (default: fit 100 columns)");
    app.add_option("--timeout-ms", timeout_ms, "how long to wait for an answer")
        ->capture_default_str()
        ->check(CLI::Range(1, 600000));

    std::string cmd;
    Json args = Json::object();
    std::map<std::string, std::vector<std::string>> values; // positional choices, for completion

    auto* peers = app.add_subcommand("peers", "BGP peers: state, uptime, prefixes, last error");
    peers->callback([&] { cmd = "peers"; });

    auto* routes =
        app.add_subcommand("routes", "routes a peer sent, a peer receives, or a view holds");
    routes->require_subcommand(1);
    std::string peer, view, address, value, prefix, as_path, next_hop;
    std::vector<std::string> communities;
    auto* learned =
        routes->add_subcommand("learned", "Adj-RIB-In of PEER, with accept/reject reasons");
    learned->add_option("PEER", peer, "peer name (see `rsctl peers`)")->required();
    learned->callback([&] { cmd = "routes.learned", args["peer"] = peer; });
    auto* advertised = routes->add_subcommand("advertised", "Adj-RIB-Out of PEER");
    advertised->add_option("PEER", peer, "peer name (see `rsctl peers`)")->required();
    advertised->callback([&] { cmd = "routes.advertised", args["peer"] = peer; });
    auto* vroutes = routes->add_subcommand("view", "effective routes of VIEW (vnet, er/C, vpn/S)");
    vroutes->add_option("VIEW", view, "view name")->required();
    vroutes->callback([&] { cmd = "routes.view", args["view"] = view; });

    auto* fib = app.add_subcommand("fib", "look ADDRESS up in the FIB of VIEW, as a worker would");
    fib->add_option("VIEW", view, "view name (vnet, er/C, vpn/S)")->required();
    fib->add_option("ADDRESS", address, "destination address")->required();
    fib->callback([&] { cmd = "fib.lookup", args = {{"view", view}, {"address", address}}; });

    auto* stats = app.add_subcommand("stats", "ports, workers, drops by reason, FIB generation");
    stats->callback([&] { cmd = "stats"; });

    auto* set = app.add_subcommand("set", "change a Route Server switch live");
    set->require_subcommand(1);
    values["set branch-to-branch"] = {"on", "off"};
    values["set routing-preference"] = {"ExpressRoute", "VpnGateway", "ASPath"};
    auto* b2b = set->add_subcommand("branch-to-branch", "allowBranchToBranchTraffic (A5/A6)");
    b2b->add_option("VALUE", value, "on|off")
        ->required()
        ->check(CLI::IsMember(values["set branch-to-branch"]));
    b2b->callback([&] { cmd = "set.branch_to_branch", args["value"] = value; });
    auto* pref = set->add_subcommand("routing-preference", "hubRoutingPreference (D2)");
    pref->add_option("VALUE", value, "ExpressRoute|VpnGateway|ASPath")
        ->required()
        ->check(CLI::IsMember(values["set routing-preference"]));
    pref->callback([&] { cmd = "set.routing_preference", args["value"] = value; });

    // A prefix the daemon could never accept is a usage error, caught here with the reason.
    const auto prefix_check = CLI::Validator(
        [](std::string& text) -> std::string {
            if (rsfwd::Prefix::parse(text)) return {};
            if (auto loose = rsfwd::Prefix::parse(text, false)) {
                return "host bits set in " + text + " (the prefix is " + loose->str() + ")";
            }
            return "not a prefix: " + text;
        },
        "PREFIX");
    auto* announce = app.add_subcommand("announce", "announce PREFIX from a static peer");
    announce->add_option("PEER", peer, "static peer (an NVA, circuit or site without BGP)")
        ->required();
    announce->add_option("PREFIX", prefix, "e.g. 192.168.10.0/24")->required()->check(prefix_check);
    announce->add_option("--as-path", as_path, "AS path as the peer sends it, e.g. \"65001\"");
    announce->add_option("--next-hop", next_hop, "next hop (default: the peer's address)");
    announce->add_option("--community", communities, "community, e.g. 65535:65282 (repeatable)");
    announce->callback([&] {
        cmd = "announce";
        args = {{"peer", peer}, {"prefix", prefix}};
        if (!as_path.empty()) args["as_path"] = as_path;
        if (!next_hop.empty()) args["next_hop"] = next_hop;
        if (!communities.empty()) args["communities"] = communities;
    });
    auto* withdraw = app.add_subcommand("withdraw", "withdraw PREFIX from a static peer");
    withdraw->add_option("PEER", peer, "static peer")->required();
    withdraw->add_option("PREFIX", prefix, "prefix")->required()->check(prefix_check);
    withdraw->callback([&] { cmd = "withdraw", args = {{"peer", peer}, {"prefix", prefix}}; });

    auto* reload = app.add_subcommand("reload", "re-read the config file and apply the difference");
    reload->callback([&] { cmd = "reload"; });
    auto* commands = app.add_subcommand("commands", "list the daemon's API commands");
    commands->callback([&] { cmd = "help"; });

    app.add_option_function<std::string>(
           "--completion",
           [&](const std::string& shell) {
               if (shell != "bash") throw CLI::ValidationError("--completion", "only bash");
               std::cout << bash_completion(app, values);
               throw CLI::Success();
           },
           "print a shell completion script")
        ->group(""); // hidden: meson generates the installed file with it

    if (auto bad = check_words(app, argc, argv)) {
        std::fprintf(stderr, "rsctl: %s\n", bad->message.c_str());
        return exit_usage;
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) return app.exit(e);
        // One line naming what is wrong, then the help of the command it is about.
        std::string where = "rsctl";
        for (CLI::App* a = &app; !a->get_subcommands().empty();) {
            a = a->get_subcommands().front();
            where += " " + a->get_name();
        }
        std::fprintf(stderr, "rsctl: %s\nsee '%s --help'\n", e.what(), where.c_str());
        return exit_usage;
    }

    Json response;
    try {
        response = rsfwd::api::call(socket, cmd, args, timeout_ms);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "rsctl: %s\n", e.what());
        return exit_unreachable;
    }
    if (!response.value("ok", false)) {
        if (as_json) std::cout << response.dump(2) << "\n";
        std::fprintf(stderr, "rsctl: %s\n", response.value("error", std::string("error")).c_str());
        return exit_failed;
    }
    const Json& result = response.contains("result") ? response.at("result") : Json();
    if (as_json) {
        std::cout << result.dump(2) << "\n";
    } else if (cmd == "peers") {
        print_peers(result, wide);
    } else {
        print_human(result, "", wide ? std::numeric_limits<std::size_t>::max() : default_width);
    }
    std::cout.flush();
    if (auto why = failed_operation(cmd, result)) {
        std::fprintf(stderr, "rsctl: %s\n", why->c_str());
        return exit_failed;
    }
    return exit_ok;
}
} // namespace

int main(int argc, char** argv) {
    try {
        return rsctl_main(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "rsctl: %s\n", e.what());
        return exit_failed;
    }
}
