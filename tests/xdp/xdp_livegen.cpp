// tests/xdp/xdp_livegen.cpp — a traffic generator for the XDP benchmark: the kernel's
// BPF_PROG_RUN "live frames" mode runs a tiny XDP program (restore the frame, XDP_TX) over one
// prebuilt frame `repeat` times, transmitting each copy out of --iface without building an skb.
// On veth the *peer* must have NAPI (an XDP program, or GRO on) or the frames are dropped.
// (xdp-trafficgen from xdp-tools does the same but does not load on this kernel: it wants
// tracepoint BTF that is absent.)
//
//   xdp_livegen --iface g0 --dst-mac 02:.. --src-ip 10.0.1.2 --dst-ip 10.0.9.9 --seconds 5
// Prints {"sent":N,"seconds":S,"mpps":R}.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

bool parse_mac(const char* s, unsigned char* out) {
    unsigned v[6];
    if (std::sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
        return false;
    for (int i = 0; i < 6; ++i) out[i] = static_cast<unsigned char>(v[i]);
    return true;
}

std::uint16_t csum(const unsigned char* p, std::size_t n) {
    std::uint32_t s = 0;
    for (std::size_t i = 0; i + 1 < n; i += 2)
        s += static_cast<std::uint32_t>(p[i] << 8 | p[i + 1]);
    while (s >> 16) s = (s & 0xFFFF) + (s >> 16);
    return static_cast<std::uint16_t>(~s);
}

} // namespace

int main(int argc, char** argv) {
    std::string iface, dst_mac, src_ip = "10.0.1.2", dst_ip = "10.0.9.9";
    double seconds = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i];
        if (k == "--iface")
            iface = argv[i + 1];
        else if (k == "--dst-mac")
            dst_mac = argv[i + 1];
        else if (k == "--src-ip")
            src_ip = argv[i + 1];
        else if (k == "--dst-ip")
            dst_ip = argv[i + 1];
        else if (k == "--seconds")
            seconds = std::atof(argv[i + 1]);
    }
    int ifindex = static_cast<int>(if_nametoindex(iface.c_str()));
    unsigned char frame[64] = {};
    if (ifindex == 0 || !parse_mac(dst_mac.c_str(), frame)) {
        std::fprintf(stderr, "usage: xdp_livegen --iface IF --dst-mac MAC [--src-ip A] "
                             "[--dst-ip A] [--seconds S]\n");
        return 2;
    }
    // Ethernet: dst, src (locally administered), IPv4.
    const unsigned char src_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
    std::memcpy(frame + 6, src_mac, 6);
    frame[12] = 0x08;
    unsigned char* ip = frame + 14;
    ip[0] = 0x45;
    ip[3] = 64 - 14; // total length 50
    ip[8] = 64;      // TTL
    ip[9] = 17;      // UDP
    inet_pton(AF_INET, src_ip.c_str(), ip + 12);
    inet_pton(AF_INET, dst_ip.c_str(), ip + 16);
    std::uint16_t c = csum(ip, 20);
    ip[10] = static_cast<unsigned char>(c >> 8);
    ip[11] = static_cast<unsigned char>(c & 0xFF);
    unsigned char* udp = ip + 20;
    udp[0] = 0x4E, udp[1] = 0x20; // 20000
    udp[2] = 0x27, udp[3] = 0x0F; // 9999
    udp[5] = 64 - 34;             // length 30, checksum 0 (none)

    // The frame's page is recycled between runs, and the router under test rewrites it in place
    // (MACs, TTL, checksum) when it redirects a veth frame without copying. So the program
    // restores those bytes on every run, then transmits:
    //   r2 = data; r3 = data_end; if (r2 + 26 > r3) goto tx;
    //   store dst MAC, src MAC, TTL, checksum; tx: r0 = XDP_TX; exit
    auto le32 = [&](int off) {
        std::int32_t v;
        std::memcpy(&v, frame + off, 4);
        return v;
    };
    auto le16 = [&](int off) {
        std::uint16_t v;
        std::memcpy(&v, frame + off, 2);
        return static_cast<std::int32_t>(v);
    };
    auto ld = [](int dst, int off) {
        bpf_insn i{};
        i.code = BPF_LDX | BPF_MEM | BPF_W;
        i.dst_reg = dst & 0xF;
        i.src_reg = BPF_REG_1;
        i.off = static_cast<__s16>(off);
        return i;
    };
    auto st = [](int size, int off, std::int32_t imm) {
        bpf_insn i{};
        i.code = static_cast<__u8>(BPF_ST | BPF_MEM | size);
        i.dst_reg = BPF_REG_2;
        i.off = static_cast<__s16>(off);
        i.imm = imm;
        return i;
    };
    std::vector<bpf_insn> prog;
    prog.push_back(ld(BPF_REG_2, 0)); // xdp_md.data
    prog.push_back(ld(BPF_REG_3, 4)); // xdp_md.data_end
    bpf_insn mov{};
    mov.code = BPF_ALU64 | BPF_MOV | BPF_X;
    mov.dst_reg = BPF_REG_4;
    mov.src_reg = BPF_REG_2;
    prog.push_back(mov);
    bpf_insn add{};
    add.code = BPF_ALU64 | BPF_ADD | BPF_K;
    add.dst_reg = BPF_REG_4;
    add.imm = 26;
    prog.push_back(add);
    bpf_insn jgt{};
    jgt.code = BPF_JMP | BPF_JGT | BPF_X;
    jgt.dst_reg = BPF_REG_4;
    jgt.src_reg = BPF_REG_3;
    jgt.off = 6;
    prog.push_back(jgt);
    prog.push_back(st(BPF_W, 0, le32(0)));
    prog.push_back(st(BPF_H, 4, le16(4)));
    prog.push_back(st(BPF_W, 6, le32(6)));
    prog.push_back(st(BPF_H, 10, le16(10)));
    prog.push_back(st(BPF_B, 22, frame[22]));
    prog.push_back(st(BPF_H, 24, le16(24)));
    bpf_insn ret{};
    ret.code = BPF_ALU64 | BPF_MOV | BPF_K;
    ret.dst_reg = BPF_REG_0;
    ret.imm = XDP_TX;
    prog.push_back(ret);
    bpf_insn ex{};
    ex.code = BPF_JMP | BPF_EXIT;
    prog.push_back(ex);
    int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "livegen", "GPL", prog.data(),
                           static_cast<size_t>(prog.size()), nullptr);
    if (fd < 0) {
        std::perror("bpf_prog_load");
        return 1;
    }
    xdp_md ctx{};
    ctx.data_end = sizeof frame;
    ctx.ingress_ifindex = static_cast<__u32>(ifindex);
    auto start = std::chrono::steady_clock::now();
    double elapsed = 0;
    unsigned long long sent = 0;
    constexpr int chunk = 1 << 17;
    while (elapsed < seconds) {
        bpf_test_run_opts o{};
        o.sz = sizeof o;
        o.data_in = frame;
        o.data_size_in = sizeof frame;
        o.ctx_in = &ctx;
        o.ctx_size_in = sizeof ctx;
        o.repeat = chunk;
        o.flags = BPF_F_TEST_XDP_LIVE_FRAMES;
        o.batch_size = 64;
        if (bpf_prog_test_run_opts(fd, &o) != 0) {
            std::perror("bpf_prog_test_run (live frames)");
            return 1;
        }
        sent += chunk;
        elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    std::printf("{\"sent\":%llu,\"seconds\":%.2f,\"mpps\":%.4f}\n", sent, elapsed,
                static_cast<double>(sent) / elapsed / 1e6);
    close(fd);
    return 0;
}
