#define _GNU_SOURCE
#include "CSandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int deny(scmp_filter_ctx ctx, int nr) {
    return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
}

int anima_seccomp_filter_fd(void) {
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (ctx == NULL) return -ENOMEM;
    // What a tool never needs: debugging other processes, changing mounts, loading kernel
    // code, the kernel keyring, new namespaces, raw packet access.
    const int blocked[] = {
        SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev),
        SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(pivot_root), SCMP_SYS(chroot),
        SCMP_SYS(move_mount), SCMP_SYS(open_tree), SCMP_SYS(fsopen), SCMP_SYS(fsmount),
        SCMP_SYS(fsconfig), SCMP_SYS(fspick), SCMP_SYS(mount_setattr),
        SCMP_SYS(init_module), SCMP_SYS(finit_module), SCMP_SYS(delete_module),
        SCMP_SYS(kexec_load), SCMP_SYS(kexec_file_load), SCMP_SYS(reboot),
        SCMP_SYS(add_key), SCMP_SYS(request_key), SCMP_SYS(keyctl),
        SCMP_SYS(unshare), SCMP_SYS(setns), SCMP_SYS(bpf), SCMP_SYS(perf_event_open),
        SCMP_SYS(swapon), SCMP_SYS(swapoff), SCMP_SYS(open_by_handle_at), SCMP_SYS(userfaultfd),
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof blocked / sizeof blocked[0] && rc == 0; i++) rc = deny(ctx, blocked[i]);
    // socket(AF_PACKET, ...) and socket(any, SOCK_RAW | flags, ...).
    if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, AF_PACKET));
    if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1, SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_RAW));
    // io_uring performs reads, writes, connects and opens in kernel workers that this
    // filter never sees, so it would be a way around every rule here: it does not exist.
    const int uring[] = { SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter), SCMP_SYS(io_uring_register) };
    for (size_t i = 0; i < sizeof uring / sizeof uring[0] && rc == 0; i++)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), uring[i], 0);
    // AF_VSOCK talks to the hypervisor (and other VMs' services), past the network namespace.
    if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, AF_VSOCK));
    if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socketpair), 1, SCMP_A0(SCMP_CMP_EQ, AF_VSOCK));
    // clone/clone3 with namespace flags would undo the sandbox's namespaces.
    const unsigned long namespaces[] = { CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET,
                                         CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWCGROUP };
    for (size_t i = 0; i < sizeof namespaces / sizeof namespaces[0] && rc == 0; i++)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, namespaces[i], namespaces[i]));
    // clone3 passes its flags in memory the filter cannot read; glibc falls back to clone.
    if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    if (rc != 0) { seccomp_release(ctx); return rc < 0 ? rc : -EINVAL; }

    int fd = memfd_create("anima-seccomp", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) { int e = errno; seccomp_release(ctx); return -e; }
    rc = seccomp_export_bpf(ctx, fd);
    seccomp_release(ctx);
    if (rc < 0) { close(fd); return rc; }
    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
    if (lseek(fd, 0, SEEK_SET) < 0) { int e = errno; close(fd); return -e; }
    return fd;
}

static int set_limit(int resource, long long value) {
    if (value < 0) return 0;
    // For CPU time the hard limit is a second later: the soft limit sends SIGXCPU, which
    // reports as "CPU time limit exceeded"; the hard one would be an anonymous SIGKILL.
    struct rlimit r = { (rlim_t)value, (rlim_t)(resource == RLIMIT_CPU ? value + 1 : value) };
    return setrlimit(resource, &r);
}

pid_t anima_spawn(const char *path, char *const argv[], char *const envp[],
                  int in_fd, int out_fd, int err_fd, const int extra_fds[], int extra_count,
                  const int cgroup_fds[], int cgroup_count,
                  const struct anima_limits *limits) {
    if (extra_count < 0 || extra_count > 8 || cgroup_count < 0) return -EINVAL;
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) return -errno;
    pid_t pid = fork();
    if (pid < 0) { int e = errno; close(report[0]); close(report[1]); return -e; }
    if (pid == 0) {
        // Only async-signal-safe calls from here on: the parent is multi-threaded.
        sigset_t none; sigemptyset(&none); sigprocmask(SIG_SETMASK, &none, NULL);
        setpgid(0, 0);
        // Join the sandbox's control groups first, so everything it starts is counted.
        for (int i = 0; i < cgroup_count; i++) {
            if (write(cgroup_fds[i], "0", 1) != 1) {
                int e = errno; (void)!write(report[1], &e, sizeof e); _exit(127);
            }
        }
        // Move every descriptor out of the way of 0..(3 + extra_count) before the dup2s.
        const int base = 16;
        int rep = fcntl(report[1], F_DUPFD_CLOEXEC, base);
        if (rep < 0) _exit(127);
        int fds[11] = { in_fd, out_fd, err_fd };
        for (int i = 0; i < extra_count; i++) fds[3 + i] = extra_fds[i];
        int count = 3 + extra_count;
        for (int i = 0; i < count; i++) {
            if (fds[i] >= 0 && fds[i] < base) { int moved = fcntl(fds[i], F_DUPFD, base); if (moved < 0) goto fail; fds[i] = moved; }
        }
        for (int i = 0; i < count; i++) {
            if (fds[i] >= 0 && dup2(fds[i], i) < 0) goto fail;
        }
        syscall(SYS_close_range, (unsigned)count, (unsigned)rep - 1, 0);
        syscall(SYS_close_range, (unsigned)rep + 1, ~0U, 0);
        if (limits) {
            if (set_limit(RLIMIT_CPU, limits->cpu_seconds) || set_limit(RLIMIT_AS, limits->address_space)
                || set_limit(RLIMIT_NPROC, limits->processes) || set_limit(RLIMIT_FSIZE, limits->file_size)
                || set_limit(RLIMIT_NOFILE, limits->open_files)) goto fail;
        }
        execve(path, argv, envp);
    fail:;
        int e = errno;
        (void)!write(rep, &e, sizeof e);
        _exit(127);
    }
    close(report[1]);
    int e = 0;
    ssize_t n;
    do { n = read(report[0], &e, sizeof e); } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == sizeof e) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        return -e;
    }
    return pid;
}

int anima_memfd_sealed(const void *bytes, size_t count) {
    int fd = memfd_create("anima-data", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return -errno;
    const char *p = bytes;
    size_t done = 0;
    while (done < count) {
        ssize_t n = write(fd, p + done, count - done);
        if (n < 0) { if (errno == EINTR) continue; int e = errno; close(fd); return -e; }
        done += (size_t)n;
    }
    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
    if (lseek(fd, 0, SEEK_SET) < 0) { int e = errno; close(fd); return -e; }
    return fd;
}

int anima_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}
