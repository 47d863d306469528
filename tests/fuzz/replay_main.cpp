// tests/fuzz/replay_main.cpp — replays a libFuzzer corpus through a fuzz target without
// libFuzzer, so the `fuzz` suite runs on gcc in CI. Usage: replay DIR_OR_FILE...
// Every input must return without crashing (ASan/UBSan, when enabled, turn bugs into aborts).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {
int run_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "replay: cannot read %s\n", p.c_str());
        return 1;
    }
    std::vector<char> buf((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(buf.data()), buf.size());
    return 0;
}
} // namespace

int main(int argc, char** argv) {
    std::size_t n = 0;
    int errors = 0;
    for (int i = 1; i < argc; ++i) {
        const std::filesystem::path arg(argv[i]);
        if (std::filesystem::is_directory(arg)) {
            for (const auto& e : std::filesystem::recursive_directory_iterator(arg)) {
                if (!e.is_regular_file()) continue;
                errors += run_file(e.path());
                ++n;
            }
        } else {
            errors += run_file(arg);
            ++n;
        }
    }
    if (n == 0) {
        std::fprintf(stderr, "replay: no corpus inputs given\n");
        return 1;
    }
    std::printf("replay: %zu inputs, no crash\n", n);
    return errors == 0 ? 0 : 1;
}
