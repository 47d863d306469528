// dataplane/daemon_main.hpp — `rsfwd run`, the daemon (see daemon_main.cpp). argv[0] = "run".
// Exit status: 0 ok, 1 runtime error, 2 usage or config error.
#pragma once

namespace rsfwd::dp {
int daemon_main(int argc, char** argv);
}
