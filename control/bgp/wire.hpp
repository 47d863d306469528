// control/bgp/wire.hpp — the byte cursor both sides of the codec use: a bounds-checked
// big-endian Reader over a span and an appending big-endian Writer.
//
// Thread: any (values, no globals). Cost: inline, one bounds check per read.
// Why a sticky `bad` flag instead of a check per read: a parser reads a whole fixed-size field
// group, then asks once whether it was all there; a short read returns zeros and moves the
// cursor to the end, so nothing past the span is ever touched.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace rsfwd::bgp {

// Bounds-checked big-endian reader over a span. Reads past the end set `bad` and return 0.
class Reader {
public:
    explicit Reader(std::span<const std::uint8_t> d) : d_(d) {}
    [[nodiscard]] std::size_t left() const noexcept { return d_.size() - pos_; }
    [[nodiscard]] std::size_t pos() const noexcept { return pos_; }
    [[nodiscard]] bool empty() const noexcept { return pos_ >= d_.size(); }
    [[nodiscard]] bool bad() const noexcept { return bad_; }
    std::uint8_t u8() {
        if (left() < 1) return fail();
        return d_[pos_++];
    }
    std::uint16_t u16() {
        if (left() < 2) return fail();
        const auto v = static_cast<std::uint16_t>((d_[pos_] << 8) | d_[pos_ + 1]);
        pos_ += 2;
        return v;
    }
    std::uint32_t u32() {
        if (left() < 4) return fail();
        const std::uint32_t v = (std::uint32_t{d_[pos_]} << 24) |
                                (std::uint32_t{d_[pos_ + 1]} << 16) |
                                (std::uint32_t{d_[pos_ + 2]} << 8) | std::uint32_t{d_[pos_ + 3]};
        pos_ += 4;
        return v;
    }
    // A sub-span of n bytes; empty and bad when fewer remain.
    std::span<const std::uint8_t> take(std::size_t n) {
        if (left() < n) {
            fail();
            return {};
        }
        auto s = d_.subspan(pos_, n);
        pos_ += n;
        return s;
    }

private:
    std::uint8_t fail() {
        bad_ = true;
        pos_ = d_.size();
        return 0;
    }
    std::span<const std::uint8_t> d_;
    std::size_t pos_ = 0;
    bool bad_ = false;
};

// Big-endian writer appending to `out`. Length fields are written as 0 first and patched once
// what they cover is known.
class Writer {
public:
    std::vector<std::uint8_t> out;
    void u8(std::uint8_t v) { out.push_back(v); }
    void u16(std::uint16_t v) {
        out.push_back(static_cast<std::uint8_t>(v >> 8));
        out.push_back(static_cast<std::uint8_t>(v));
    }
    void u32(std::uint32_t v) {
        for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(v >> s));
    }
    void bytes(std::span<const std::uint8_t> b) { out.insert(out.end(), b.begin(), b.end()); }
    void put16(std::size_t at, std::uint16_t v) {
        out[at] = static_cast<std::uint8_t>(v >> 8);
        out[at + 1] = static_cast<std::uint8_t>(v);
    }
    // Sets the 2-octet length field at `at` to the number of bytes written after it.
    void patch_len(std::size_t at) { put16(at, static_cast<std::uint16_t>(out.size() - at - 2)); }
};

} // namespace rsfwd::bgp
