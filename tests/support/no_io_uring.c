// Runs a program the way a container runtime's default seccomp profile would
// (containerd >= 2.0, Docker >= 25, Pod Security "restricted"): io_uring_setup,
// io_uring_enter and io_uring_register fail with EPERM, everything else is allowed.
//
//   no_io_uring PROGRAM [ARGS...]      exec PROGRAM under the filter
//   no_io_uring --self-test            exit 0 iff io_uring_setup is refused with EPERM
//
// Built a second time as ringgate-no-io-uring with RINGGATE_EXEC set: then every
// argument goes to that binary, so the wrapper can stand in for ringgate itself
// (RINGGATE_BIN) in the integration suites.
#include <errno.h>
#include <linux/io_uring.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int install_filter(void) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == NULL) return -ENOMEM;
  const int refused[] = {SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter), SCMP_SYS(io_uring_register)};
  int rc = 0;
  for (size_t i = 0; i < sizeof refused / sizeof refused[0] && rc == 0; ++i) {
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), refused[i], 0);
  }
  if (rc == 0) rc = seccomp_load(ctx);  // sets no_new_privs first, as runtimes do
  seccomp_release(ctx);
  return rc;
}

static int self_test(void) {
  struct io_uring_params params;
  memset(&params, 0, sizeof params);
  const long fd = syscall(__NR_io_uring_setup, 4, &params);
  if (fd >= 0 || errno != EPERM) {
    fprintf(stderr, "no_io_uring: io_uring_setup was not refused (fd %ld, %s)\n", fd, strerror(errno));
    return 1;
  }
  return 0;
}

int main(int argc, char** argv) {
#ifdef RINGGATE_EXEC
  const int first = 0;
#else
  if (argc < 2) {
    fprintf(stderr, "usage: no_io_uring PROGRAM [ARGS...] | --self-test\n");
    return 2;
  }
  const int first = 1;
#endif
  const int rc = install_filter();
  if (rc != 0) {
    fprintf(stderr, "no_io_uring: cannot install the seccomp filter: %s\n", strerror(-rc));
    return 1;
  }
#ifdef RINGGATE_EXEC
  (void)argc;
  argv[0] = (char*)RINGGATE_EXEC;
  execv(RINGGATE_EXEC, argv);
  fprintf(stderr, "no_io_uring: exec %s: %s\n", RINGGATE_EXEC, strerror(errno));
#else
  if (strcmp(argv[first], "--self-test") == 0) return self_test();
  execvp(argv[first], argv + first);
  fprintf(stderr, "no_io_uring: exec %s: %s\n", argv[first], strerror(errno));
#endif
  return 127;
}
