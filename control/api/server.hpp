// control/api/server.hpp — the JSON API that `rsctl` (and scripts, and tests) talk to.
//
// Transport: a Unix stream socket, created with mode 0600 (DESIGN.md "Reliability and
// security"). Protocol: one JSON object per line each way.
//   request : {"cmd": "peers", "args": {...}}          (args optional)
//   response: {"ok": true, "result": <any JSON>}
//          or {"ok": false, "error": "human-readable message"}
// A request line longer than max_request_bytes, or not a JSON object, gets an error response
// and the connection is closed; the server itself never stops for a bad client.
// Bounded (DESIGN.md): at most max_clients connections at a time (one more gets
// {"ok": false, "error": "too many clients ..."} and is closed), and a connection that sends
// nothing for idle_timeout is closed, so that idle clients cannot hold every slot.
//
// Thread: everything runs on the io_context passed in — the control thread — so handlers may
// touch control-plane state without locks. Handlers must be quick (no blocking I/O).
// Ownership: the server owns its acceptor and connections; handlers are copied in.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

namespace rsfwd::api {

// ordered: tables and JSON keep the order the daemon writes fields in
using Json = nlohmann::ordered_json;

// A handler returns the result, or throws ApiError (message goes to the client verbatim; any
// other exception is reported as "internal error: ...").
using Handler = std::function<Json(const Json& args)>;

struct ApiError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Helpers for handlers: fetch a required/optional argument with a clear error.
std::string arg_string(const Json& args, const char* name);
std::string arg_string_or(const Json& args, const char* name, std::string fallback);

class Server {
public:
    static constexpr std::size_t max_request_bytes = 1 << 20;
    static constexpr std::size_t max_clients = 32;
    static constexpr std::chrono::seconds idle_timeout{60};

    // Binds `path` (an existing socket file is replaced only if nothing listens on it; a live
    // one makes the constructor throw std::runtime_error: "another rsfwd is running").
    Server(boost::asio::io_context& io, std::string path);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Register `cmd`. `help` is a one-line description listed by the built-in "help" command.
    void on(const std::string& cmd, std::string help, Handler handler);

    // Handle one request object (also used by tests and by in-process callers).
    [[nodiscard]] Json dispatch(const Json& request) const;

    [[nodiscard]] const std::string& path() const noexcept { return path_; }
    [[nodiscard]] std::uint64_t requests_served() const noexcept { return served_; }
    [[nodiscard]] std::size_t clients() const noexcept { return clients_; }
    // Connections refused because max_clients were connected.
    [[nodiscard]] std::uint64_t clients_refused() const noexcept { return refused_; }

private:
    struct Entry {
        std::string help;
        Handler handler;
    };
    class Connection;
    void accept();
    void refuse(boost::asio::local::stream_protocol::socket socket);

    boost::asio::io_context& io_;
    std::string path_;
    boost::asio::local::stream_protocol::acceptor acceptor_;
    std::map<std::string, Entry> handlers_;
    mutable std::uint64_t served_ = 0;
    std::size_t clients_ = 0; // live Connections
    std::uint64_t refused_ = 0;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// Client side (rsctl, tests): one request, one response. Throws std::runtime_error with a
// message a user can act on ("rsfwd is not running (no socket at PATH)", timeouts, ...).
Json call(const std::string& socket_path, const std::string& cmd, const Json& args = Json::object(),
          int timeout_ms = 5000);

// The default socket path: $RSFWD_SOCKET, else /run/rsfwd/rsfwd.sock as root, else
// $XDG_RUNTIME_DIR/rsfwd.sock or /tmp/rsfwd-$UID.sock.
std::string default_socket_path();

} // namespace rsfwd::api
