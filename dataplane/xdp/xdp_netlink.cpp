// dataplane/xdp/xdp_netlink.cpp — minimal rtnetlink dumps. Why not libnl or `ip -j`: the
// backend needs three small reads, and a dependency or a subprocess per refresh costs more than
// these ~150 lines.
#include "dataplane/xdp/xdp_netlink.hpp"

#include <arpa/inet.h>
#include <linux/ethtool.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <system_error>

namespace rsfwd::xdp {

namespace {

class NetlinkSocket {
public:
    NetlinkSocket() : fd_(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)) {
        if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "netlink socket");
    }
    ~NetlinkSocket() { ::close(fd_); }
    NetlinkSocket(const NetlinkSocket&) = delete;
    NetlinkSocket& operator=(const NetlinkSocket&) = delete;

    // Sends a dump request (header + family payload) and calls `on_msg` for every reply message.
    void dump(std::uint16_t type, const void* payload, std::size_t len,
              const std::function<void(const nlmsghdr*)>& on_msg) {
        struct {
            nlmsghdr nh;
            char payload[64];
        } req{};
        req.nh.nlmsg_len = NLMSG_LENGTH(len);
        req.nh.nlmsg_type = type;
        req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        req.nh.nlmsg_seq = ++seq_;
        std::memcpy(req.payload, payload, len);
        if (::send(fd_, &req, req.nh.nlmsg_len, 0) < 0)
            throw std::system_error(errno, std::generic_category(), "netlink send");
        std::vector<char> buf(1 << 16);
        for (;;) {
            ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
            if (n < 0) {
                if (errno == EINTR) continue;
                throw std::system_error(errno, std::generic_category(), "netlink recv");
            }
            int left = static_cast<int>(n);
            for (auto* nh = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(nh, left);
                 nh = NLMSG_NEXT(nh, left)) {
                if (nh->nlmsg_seq != seq_) continue;
                if (nh->nlmsg_type == NLMSG_DONE) return;
                if (nh->nlmsg_type == NLMSG_ERROR) {
                    auto* err = static_cast<nlmsgerr*>(NLMSG_DATA(nh));
                    if (err->error == 0) return;
                    throw std::system_error(-err->error, std::generic_category(), "netlink dump");
                }
                on_msg(nh);
            }
        }
    }

    // Sends one request (header + payload, attributes included) with NLM_F_ACK and returns the
    // kernel's answer: 0 or a negative errno.
    int request(std::uint16_t type, std::uint16_t flags, const void* payload, std::size_t len) {
        struct {
            nlmsghdr nh;
            char payload[128];
        } req{};
        if (len > sizeof req.payload) return -EINVAL;
        req.nh.nlmsg_len = NLMSG_LENGTH(len);
        req.nh.nlmsg_type = type;
        req.nh.nlmsg_flags = static_cast<std::uint16_t>(NLM_F_REQUEST | NLM_F_ACK | flags);
        req.nh.nlmsg_seq = ++seq_;
        std::memcpy(req.payload, payload, len);
        if (::send(fd_, &req, req.nh.nlmsg_len, 0) < 0) return -errno;
        std::vector<char> buf(1 << 14);
        for (;;) {
            ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
            if (n < 0) {
                if (errno == EINTR) continue;
                return -errno;
            }
            int left = static_cast<int>(n);
            for (auto* nh = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(nh, left);
                 nh = NLMSG_NEXT(nh, left)) {
                if (nh->nlmsg_seq != seq_ || nh->nlmsg_type != NLMSG_ERROR) continue;
                return static_cast<const nlmsgerr*>(NLMSG_DATA(nh))->error;
            }
        }
    }

private:
    int fd_;
    std::uint32_t seq_ = 0;
};

IpAddr addr_from(int family, const void* data) {
    IpAddr a;
    if (family == AF_INET) {
        a.family = Family::v4;
        std::memcpy(a.bytes.data(), data, 4);
    } else {
        a.family = Family::v6;
        std::memcpy(a.bytes.data(), data, 16);
    }
    return a;
}

} // namespace

std::optional<InterfaceInfo> read_interface(const std::string& name) {
    unsigned idx = ::if_nametoindex(name.c_str());
    if (idx == 0) return std::nullopt;
    InterfaceInfo info;
    info.name = name;
    info.ifindex = static_cast<int>(idx);
    NetlinkSocket nl;

    ifinfomsg ifi{};
    ifi.ifi_family = AF_UNSPEC;
    nl.dump(RTM_GETLINK, &ifi, sizeof ifi, [&](const nlmsghdr* nh) {
        if (nh->nlmsg_type != RTM_NEWLINK) return;
        auto* m = static_cast<const ifinfomsg*>(NLMSG_DATA(nh));
        if (m->ifi_index != info.ifindex) return;
        int len = static_cast<int>(IFLA_PAYLOAD(nh));
        for (auto* rta = IFLA_RTA(m); RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
            if (rta->rta_type == IFLA_ADDRESS && RTA_PAYLOAD(rta) == 6)
                std::memcpy(info.mac.data(), RTA_DATA(rta), 6);
    });

    ifaddrmsg ifa{};
    ifa.ifa_family = AF_UNSPEC;
    nl.dump(RTM_GETADDR, &ifa, sizeof ifa, [&](const nlmsghdr* nh) {
        if (nh->nlmsg_type != RTM_NEWADDR) return;
        auto* m = static_cast<const ifaddrmsg*>(NLMSG_DATA(nh));
        if (static_cast<int>(m->ifa_index) != info.ifindex ||
            (m->ifa_family != AF_INET && m->ifa_family != AF_INET6))
            return;
        int len = static_cast<int>(IFA_PAYLOAD(nh));
        std::optional<IpAddr> local, address;
        for (auto* rta = IFA_RTA(m); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
            if (rta->rta_type == IFA_LOCAL)
                local = addr_from(m->ifa_family, RTA_DATA(rta));
            else if (rta->rta_type == IFA_ADDRESS)
                address = addr_from(m->ifa_family, RTA_DATA(rta));
        }
        // IPv4: IFA_LOCAL is the address (IFA_ADDRESS the peer on p2p links); IPv6: IFA_ADDRESS.
        auto a = local ? local : address;
        if (!a) return;
        info.addresses.push_back(*a);
        info.subnets.push_back(Prefix::make(*a, m->ifa_prefixlen));
    });
    return info;
}

std::vector<Neighbour> read_neighbours() {
    std::vector<Neighbour> out;
    NetlinkSocket nl;
    ndmsg nd{};
    nd.ndm_family = AF_UNSPEC;
    constexpr std::uint16_t usable =
        NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP;
    nl.dump(RTM_GETNEIGH, &nd, sizeof nd, [&](const nlmsghdr* nh) {
        if (nh->nlmsg_type != RTM_NEWNEIGH) return;
        auto* m = static_cast<const ndmsg*>(NLMSG_DATA(nh));
        if ((m->ndm_family != AF_INET && m->ndm_family != AF_INET6) || !(m->ndm_state & usable))
            return;
        int len = static_cast<int>(RTM_PAYLOAD(nh));
        Neighbour n;
        n.ifindex = m->ndm_ifindex;
        bool have_dst = false, have_mac = false;
        for (auto* rta = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(const_cast<ndmsg*>(m)) +
                                                   NLMSG_ALIGN(sizeof(ndmsg)));
             RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
            if (rta->rta_type == NDA_DST) {
                n.addr = addr_from(m->ndm_family, RTA_DATA(rta));
                have_dst = true;
            } else if (rta->rta_type == NDA_LLADDR && RTA_PAYLOAD(rta) == 6) {
                std::memcpy(n.mac.data(), RTA_DATA(rta), 6);
                have_mac = true;
            }
        }
        if (have_dst && have_mac) out.push_back(n);
    });
    return out;
}

std::string driver_name(const std::string& ifname) noexcept {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return {};
    ethtool_drvinfo info{};
    info.cmd = ETHTOOL_GDRVINFO;
    ifreq ifr{};
    std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname.c_str());
    ifr.ifr_data = reinterpret_cast<char*>(&info);
    int rc = ::ioctl(fd, SIOCETHTOOL, &ifr);
    ::close(fd);
    if (rc != 0) return {};
    return std::string(info.driver, strnlen(info.driver, sizeof info.driver));
}

void change_address(int ifindex, const IpAddr& addr, int prefix_len, bool add) {
    // ifaddrmsg + IFA_LOCAL + IFA_ADDRESS (IPv4 wants both, equal on a broadcast link).
    struct {
        ifaddrmsg ifa;
        char attrs[2 * RTA_SPACE(16)];
    } msg{};
    const int fam = addr.is_v4() ? AF_INET : AF_INET6;
    const std::size_t alen = addr.is_v4() ? 4 : 16;
    msg.ifa.ifa_family = static_cast<std::uint8_t>(fam);
    msg.ifa.ifa_prefixlen = static_cast<std::uint8_t>(prefix_len);
    msg.ifa.ifa_flags = addr.is_v6() ? IFA_F_NODAD : 0; // usable at once (BGP source address)
    msg.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
    msg.ifa.ifa_index = static_cast<unsigned>(ifindex);
    std::size_t off = 0;
    for (std::uint16_t type :
         {static_cast<std::uint16_t>(IFA_LOCAL), static_cast<std::uint16_t>(IFA_ADDRESS)}) {
        auto* rta = reinterpret_cast<rtattr*>(msg.attrs + off);
        rta->rta_type = type;
        rta->rta_len = static_cast<unsigned short>(RTA_LENGTH(alen));
        std::memcpy(RTA_DATA(rta), addr.bytes.data(), alen);
        off += RTA_SPACE(alen);
    }
    NetlinkSocket nl;
    const int rc = add ? nl.request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &msg,
                                    NLMSG_ALIGN(sizeof msg.ifa) + off)
                       : nl.request(RTM_DELADDR, 0, &msg, NLMSG_ALIGN(sizeof msg.ifa) + off);
    if (rc != 0 && !(add && rc == -EEXIST))
        throw std::system_error(-rc, std::generic_category(),
                                std::string(add ? "add" : "delete") + " address " + addr.str() +
                                    "/" + std::to_string(prefix_len));
}

void kick_resolution(int ifindex, const IpAddr& addr) noexcept {
    char name[IF_NAMESIZE] = {};
    if (!::if_indextoname(static_cast<unsigned>(ifindex), name)) return;
    int fam = addr.is_v4() ? AF_INET : AF_INET6;
    int fd = ::socket(fam, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return;
    ::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, static_cast<socklen_t>(std::strlen(name)));
    if (addr.is_v4()) {
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(9); // discard
        std::memcpy(&sa.sin_addr, addr.bytes.data(), 4);
        (void)::sendto(fd, "", 0, 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    } else {
        sockaddr_in6 sa{};
        sa.sin6_family = AF_INET6;
        sa.sin6_port = htons(9);
        std::memcpy(&sa.sin6_addr, addr.bytes.data(), 16);
        (void)::sendto(fd, "", 0, 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    }
    ::close(fd);
}

} // namespace rsfwd::xdp
