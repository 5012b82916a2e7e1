#pragma once
// --demo N: the gateway starts N ringgate-sim servers itself (each on port 0, its
// listening line read from its stdout), tied to the gateway's life by PR_SET_PDEATHSIG.
#include <sys/types.h>

#include <string>
#include <vector>

namespace ringgate::gateway {

struct DemoSims {
  std::vector<pid_t> pids;
  std::vector<int> stdout_fds;         // read ends of their stdout pipes
  std::vector<std::string> addresses;  // "127.0.0.1:PORT" of each
  std::string error;                   // non-empty: start-up failed (the started ones are stopped)
};

// <dir of /proc/self/exe>/../sim/ringgate-sim: where meson puts it in the build tree.
std::string default_sim_binary();

DemoSims start_demo_sims(unsigned count, const std::string& binary, const std::string& model,
                         const std::vector<std::string>& extra_args);

// SIGTERM, then SIGKILL after a grace period; reaps them.
void stop_demo_sims(const std::vector<pid_t>& pids);

}  // namespace ringgate::gateway
