#include "ringgate/gateway/demo.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <string_view>

namespace ringgate::gateway {

std::string default_sim_binary() {
  char self[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return "ringgate-sim";
  std::string path(self, size_t(n));
  path = path.substr(0, path.rfind('/'));
  return path + "/../sim/ringgate-sim";
}

namespace {

// Reads one line from `fd` within `timeout_ms`; empty on timeout / EOF.
std::string read_line(int fd, int timeout_ms) {
  std::string line;
  timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    const long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
    if (elapsed >= timeout_ms) return {};
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, int(timeout_ms - elapsed)) <= 0) continue;
    char c;
    const ssize_t n = read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return {};
    if (c == '\n') {
      if (line.find("\"listening\"") != std::string::npos) return line;
      line.clear();
      continue;
    }
    if (line.size() < 4096) line += c;
  }
}

// The value of "api" in the listening line.
std::string api_of(const std::string& line) {
  const size_t key = line.find("\"api\"");
  if (key == std::string::npos) return {};
  const size_t open = line.find('"', line.find(':', key) + 1);
  const size_t close = line.find('"', open + 1);
  if (open == std::string::npos || close == std::string::npos) return {};
  std::string api = line.substr(open + 1, close - open - 1);
  if (api.starts_with("0.0.0.0:")) api = "127.0.0.1:" + api.substr(8);
  return api;
}

}  // namespace

DemoSims start_demo_sims(unsigned count, const std::string& binary, const std::string& model,
                         const std::vector<std::string>& extra_args) {
  DemoSims sims;
  if (access(binary.c_str(), X_OK) != 0) {
    sims.error = "ringgate-sim not found or not executable at " + binary + " (use --sim-bin PATH)";
    return sims;
  }
  const pid_t parent = getpid();
  for (unsigned i = 0; i < count; ++i) {
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
      sims.error = std::string("pipe: ") + std::strerror(errno);
      break;
    }
    std::vector<std::string> args = {binary, "--host", "127.0.0.1", "--port", "0", "--model", model};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (getppid() != parent) _exit(1);  // the gateway died before prctl took effect
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      dup2(pipe_fds[1], STDOUT_FILENO);
      execv(binary.c_str(), argv.data());
      _exit(127);
    }
    close(pipe_fds[1]);
    if (pid < 0) {
      close(pipe_fds[0]);
      sims.error = std::string("fork: ") + std::strerror(errno);
      break;
    }
    sims.pids.push_back(pid);
    const std::string line = read_line(pipe_fds[0], 15000);
    // Kept open for the sim's life: a later write to its stdout must not raise SIGPIPE.
    sims.stdout_fds.push_back(pipe_fds[0]);
    const std::string api = api_of(line);
    if (api.empty()) {
      sims.error = "ringgate-sim (" + binary + ") did not report a listening address";
      break;
    }
    sims.addresses.push_back(api);
  }
  if (!sims.error.empty()) {
    stop_demo_sims(sims.pids);
    sims.pids.clear();
  }
  return sims;
}

void stop_demo_sims(const std::vector<pid_t>& pids) {
  for (const pid_t pid : pids) kill(pid, SIGTERM);
  for (const pid_t pid : pids) {
    for (int i = 0; i < 50; ++i) {
      if (waitpid(pid, nullptr, WNOHANG) == pid) break;
      if (i == 49) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
      usleep(20000);
    }
  }
}

}  // namespace ringgate::gateway
