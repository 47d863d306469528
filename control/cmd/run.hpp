// control/cmd/run.hpp — `rsfwd run`, the daemon (see run.cpp). argv[0] = "run".
// Exit status: 0 ok, 1 runtime error, 2 usage or config error.
#pragma once

namespace rsfwd::dp {
int run_main(int argc, char** argv);
}
