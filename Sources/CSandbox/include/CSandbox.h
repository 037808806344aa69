#ifndef ANIMA_CSANDBOX_H
#define ANIMA_CSANDBOX_H

#include <sys/types.h>

#include "CBeneath.h"

/// Resource limits applied in the child before it executes bubblewrap; they are
/// inherited by everything inside the sandbox. A negative value leaves a limit as it is.
struct anima_limits {
    long long cpu_seconds;
    long long address_space;
    long long processes;
    long long file_size;
    long long open_files;
};

/// Builds the seccomp filter (libseccomp) as a BPF program in a sealed memory file and
/// returns its descriptor, positioned at 0, for bubblewrap's `--seccomp FD`.
/// Returns -errno on failure.
int anima_seccomp_filter_fd(void);

/// Forks and executes `path` with `argv`/`envp`; in the child, `in_fd`, `out_fd` and
/// `err_fd` become 0, 1 and 2, `extra_fd` (when >= 0) becomes 3, every other descriptor
/// is closed, the child leads a new process group and the limits are set.
/// Returns the child's pid, or -errno when the fork or the exec failed.
pid_t anima_spawn(const char *path, char *const argv[], char *const envp[],
                  int in_fd, int out_fd, int err_fd, int extra_fd,
                  const struct anima_limits *limits);

/// pipe2(fds, O_CLOEXEC), which Swift's Glibc module does not export.
int anima_pipe_cloexec(int fds[2]);

#endif
