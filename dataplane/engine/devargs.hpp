// dataplane/engine/devargs.hpp — the one reader of a port's device string (DPDK devargs, as the
// config's `device:` gives it): "net_pcap0,rx_pcap=a.pcap,tx_pcap=b.pcap", "0000:3b:00.0",
// "net_af_packet0,iface=veth1", or, for the XDP backend, a bare interface name "veth1".
// Thread: any (pure string functions). Cost: one pass over the string.
#pragma once

#include <map>
#include <string>

namespace rsfwd::dp {

// The device name before the first comma: "net_pcap0", "0000:3b:00.0", "veth1".
inline std::string devargs_name(const std::string& device) {
    return device.substr(0, device.find(','));
}

// The key=value arguments after the name (a later key wins; items without '=' are skipped).
inline std::map<std::string, std::string> devargs_kv(const std::string& device) {
    std::map<std::string, std::string> kv;
    std::size_t pos = device.find(',');
    while (pos != std::string::npos) {
        const std::size_t next = device.find(',', pos + 1);
        const std::string item =
            device.substr(pos + 1, next == std::string::npos ? next : next - pos - 1);
        const auto eq = item.find('=');
        if (eq != std::string::npos) kv[item.substr(0, eq)] = item.substr(eq + 1);
        pos = next;
    }
    return kv;
}

// The kernel interface a device string names: its iface= argument (net_af_packet, net_af_xdp,
// net_tap …), else "" — or, with bare_name_is_iface (the XDP backend, whose ports are kernel
// interfaces), the device name itself.
inline std::string devargs_iface(const std::string& device, bool bare_name_is_iface = false) {
    const auto kv = devargs_kv(device);
    if (const auto it = kv.find("iface"); it != kv.end()) return it->second;
    return bare_name_is_iface ? devargs_name(device) : std::string{};
}

} // namespace rsfwd::dp
