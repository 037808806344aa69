#ifndef ANIMA_CSANDBOX_H
#define ANIMA_CSANDBOX_H

#include <stddef.h>
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
/// `err_fd` become 0, 1 and 2, `extra_fds` (at most 8) become 3, 4, ..., every other
/// descriptor is closed, the child leads a new process group, joins the control groups
/// whose `cgroup.procs` files `cgroup_fds` are open on, and the limits are set.
/// The process that forks must be a thread that lives as long as the sandbox should:
/// bubblewrap's `--die-with-parent` fires when that thread, not the process, ends.
/// Returns the child's pid, or -errno when the fork, joining a group or the exec failed.
pid_t anima_spawn(const char *path, char *const argv[], char *const envp[],
                  int in_fd, int out_fd, int err_fd, const int extra_fds[], int extra_count,
                  const int cgroup_fds[], int cgroup_count,
                  const struct anima_limits *limits);

/// A sealed, close-on-exec memory file holding `count` bytes, positioned at 0 (for
/// bubblewrap's `--args FD`). Returns the descriptor or -errno.
int anima_memfd_sealed(const void *bytes, size_t count);

/// pipe2(fds, O_CLOEXEC), which Swift's Glibc module does not export.
int anima_pipe_cloexec(int fds[2]);

#endif
