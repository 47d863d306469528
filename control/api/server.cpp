// control/api/server.cpp — line-delimited JSON over a Unix socket. Asio on the control thread;
// the client side uses plain blocking POSIX sockets with timeouts (rsctl is a one-shot tool).
#include "control/api/server.hpp"

#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <istream>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace rsfwd::api {

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

std::string arg_string(const Json& args, const char* name) {
    if (!args.is_object() || !args.contains(name)) {
        throw ApiError(std::string("missing argument '") + name + "'");
    }
    const auto& v = args.at(name);
    if (!v.is_string()) throw ApiError(std::string("argument '") + name + "' must be a string");
    return v.get<std::string>();
}

std::string arg_string_or(const Json& args, const char* name, std::string fallback) {
    if (!args.is_object() || !args.contains(name)) return fallback;
    return arg_string(args, name);
}

namespace {

bool socket_is_live(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
    const bool live = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    ::close(fd);
    return live;
}

} // namespace

class Server::Connection : public std::enable_shared_from_this<Server::Connection> {
public:
    Connection(Server& server, stream::socket socket)
        : server_(server), socket_(std::move(socket)), buffer_(max_request_bytes),
          idle_(socket_.get_executor()), alive_(server.alive_) {
        ++server_.clients_;
    }
    ~Connection() {
        if (*alive_) --server_.clients_;
    }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    void start() { read(); }

private:
    void read() {
        auto self = shared_from_this();
        // An idle client must not hold one of the max_clients slots for ever.
        idle_.expires_after(idle_timeout);
        idle_.async_wait([this, self](const boost::system::error_code& ec) {
            if (ec || !*alive_) return;
            boost::system::error_code ig;
            socket_.close(ig); // the pending read completes with an error
        });
        asio::async_read_until(socket_, buffer_, '\n',
                               [this, self](const boost::system::error_code& ec, std::size_t n) {
                                   idle_.cancel();
                                   if (!*alive_) return;
                                   if (ec == asio::error::not_found) {
                                       reply({{"ok", false}, {"error", "request too long"}}, true);
                                       return;
                                   }
                                   if (ec) return; // client went away
                                   std::string line(n, '\0');
                                   std::istream in(&buffer_);
                                   in.read(line.data(), static_cast<std::streamsize>(n));
                                   handle(line);
                               });
    }

    void handle(const std::string& line) {
        Json request = Json::parse(line, nullptr, false);
        if (request.is_discarded() || !request.is_object()) {
            reply({{"ok", false}, {"error", "request is not a JSON object"}}, true);
            return;
        }
        reply(server_.dispatch(request), false);
    }

    void reply(const Json& response, bool close_after) {
        out_ = response.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
        auto self = shared_from_this();
        asio::async_write(
            socket_, asio::buffer(out_),
            [this, self, close_after](const boost::system::error_code& ec, std::size_t) {
                if (!*alive_ || ec || close_after) return;
                read();
            });
    }

    Server& server_;
    stream::socket socket_;
    asio::streambuf buffer_;
    asio::steady_timer idle_;
    std::string out_;
    std::shared_ptr<bool> alive_;
};

Server::Server(asio::io_context& io, std::string path)
    : io_(io), path_(std::move(path)), acceptor_(io) {
    if (path_.size() >= sizeof(sockaddr_un::sun_path)) {
        throw std::runtime_error("API socket path too long: " + path_);
    }
    std::error_code fs_ec;
    const auto dir = std::filesystem::path(path_).parent_path();
    if (!dir.empty()) std::filesystem::create_directories(dir, fs_ec);
    if (std::filesystem::exists(path_, fs_ec)) {
        if (socket_is_live(path_)) {
            throw std::runtime_error("another rsfwd is running: " + path_ + " answers");
        }
        std::filesystem::remove(path_, fs_ec); // stale socket from a crashed run
    }
    // Create the socket 0600 from the start: no window in which others could connect.
    const mode_t old_mask = ::umask(0177);
    boost::system::error_code ec;
    acceptor_.open(stream(), ec);
    if (!ec) acceptor_.bind(stream::endpoint(path_), ec);
    ::umask(old_mask);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error("cannot listen on " + path_ + ": " + ec.message());
    ::chmod(path_.c_str(), 0600);

    on("help", "list the commands", [this](const Json&) {
        Json out = Json::array();
        for (const auto& [name, entry] : handlers_)
            out.push_back({{"cmd", name}, {"help", entry.help}});
        return out;
    });
    accept();
}

Server::~Server() {
    *alive_ = false;
    boost::system::error_code ec;
    acceptor_.close(ec);
    std::error_code fs_ec;
    std::filesystem::remove(path_, fs_ec);
}

void Server::on(const std::string& cmd, std::string help, Handler handler) {
    handlers_[cmd] = Entry{std::move(help), std::move(handler)};
}

Json Server::dispatch(const Json& request) const {
    ++served_;
    if (!request.is_object() || !request.contains("cmd") || !request.at("cmd").is_string()) {
        return {{"ok", false}, {"error", "request needs a string field 'cmd'"}};
    }
    const auto cmd = request.at("cmd").get<std::string>();
    const auto it = handlers_.find(cmd);
    if (it == handlers_.end()) {
        return {{"ok", false}, {"error", "unknown command '" + cmd + "' (try 'help')"}};
    }
    const Json args = request.contains("args") ? request.at("args") : Json::object();
    try {
        return {{"ok", true}, {"result", it->second.handler(args)}};
    } catch (const ApiError& e) {
        return {{"ok", false}, {"error", e.what()}};
    } catch (const std::exception& e) {
        return {{"ok", false}, {"error", std::string("internal error: ") + e.what()}};
    }
}

void Server::accept() {
    acceptor_.async_accept(
        [this, alive = alive_](const boost::system::error_code& ec, stream::socket socket) {
            if (!*alive) return;
            if (!ec && clients_ >= max_clients) {
                ++refused_;
                refuse(std::move(socket));
            } else if (!ec) {
                std::make_shared<Connection>(*this, std::move(socket))->start();
            }
            if (acceptor_.is_open()) accept();
        });
}

// One error line, then close: the client learns why instead of hanging.
void Server::refuse(stream::socket socket) {
    struct Refused {
        stream::socket socket;
        std::string text;
    };
    auto r = std::make_shared<Refused>(
        Refused{std::move(socket),
                Json{{"ok", false},
                     {"error", "too many clients (" + std::to_string(max_clients) + "); try again"}}
                        .dump() +
                    "\n"});
    asio::async_write(r->socket, asio::buffer(r->text),
                      [r](const boost::system::error_code&, std::size_t) {
                          boost::system::error_code ig;
                          r->socket.shutdown(stream::socket::shutdown_both, ig);
                          r->socket.close(ig);
                      });
}

Json call(const std::string& socket_path, const std::string& cmd, const Json& args,
          int timeout_ms) {
    if (socket_path.size() >= sizeof(sockaddr_un::sun_path)) {
        throw std::runtime_error("socket path too long: " + socket_path);
    }
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, socket_path.c_str(), sizeof sa.sun_path - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        const int err = errno;
        if (err == ENOENT) {
            throw std::runtime_error(
                "rsfwd is not running (no socket at " + socket_path +
                "; start it with `rsfwd run --config FILE`, or pass --socket)");
        }
        if (err == ECONNREFUSED) {
            throw std::runtime_error("rsfwd is not running (nothing listens on " + socket_path +
                                     ": a stale socket from a stopped daemon?)");
        }
        if (err == EACCES) {
            throw std::runtime_error("permission denied on " + socket_path +
                                     " (the API socket is 0600: run rsctl as the daemon's user)");
        }
        throw std::runtime_error("cannot connect to " + socket_path + ": " + std::strerror(err));
    }
    const std::string line = Json{{"cmd", cmd}, {"args", args}}.dump() + "\n";
    std::size_t off = 0;
    while (off < line.size()) {
        const ssize_t n = ::send(fd, line.data() + off, line.size() - off, MSG_NOSIGNAL);
        if (n <= 0) throw std::runtime_error("lost the connection to rsfwd at " + socket_path);
        off += static_cast<std::size_t>(n);
    }
    std::string in;
    char buf[65536];
    while (in.find('\n') == std::string::npos) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n == 0) {
            throw std::runtime_error("rsfwd at " + socket_path +
                                     " closed the connection without answering");
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                throw std::runtime_error("rsfwd at " + socket_path + " did not answer within " +
                                         std::to_string(timeout_ms) + " ms");
            }
            throw std::runtime_error(std::string("recv: ") + std::strerror(errno));
        }
        in.append(buf, static_cast<std::size_t>(n));
    }
    Json response = Json::parse(in.substr(0, in.find('\n')), nullptr, false);
    if (response.is_discarded() || !response.is_object()) {
        throw std::runtime_error("rsfwd sent a malformed response");
    }
    return response;
}

std::string default_socket_path() {
    if (const char* env = std::getenv("RSFWD_SOCKET"); env && *env) return env;
    if (::geteuid() == 0) return "/run/rsfwd/rsfwd.sock";
    if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg && *xdg) {
        return std::string(xdg) + "/rsfwd.sock";
    }
    return "/tmp/rsfwd-" + std::to_string(::geteuid()) + ".sock";
}

} // namespace rsfwd::api
