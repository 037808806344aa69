#ifndef ANIMA_CBENEATH_H
#define ANIMA_CBENEATH_H

#include <sys/types.h>

/// Opens `path` beneath the directory `dirfd` without following any symbolic link and
/// without leaving the directory: `path` is relative, its components are separated by
/// `/` and none of them is `..`. The kernel checks every component at once with
/// openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS); on a kernel
/// without openat2 (ENOSYS), or when `walk` is non-zero, each component is opened in
/// turn relative to the last with O_NOFOLLOW, which is as strict. `O_CLOEXEC` is added.
/// Returns the descriptor, or -errno: -ELOOP when a component is a symbolic link,
/// -EXDEV when the path would leave `dirfd`.
int anima_open_beneath(int dirfd, const char *path, int flags, mode_t mode, int walk);

/// Changes the owner of the file `fd` refers to (O_PATH descriptors too), never by path.
int anima_chown_fd(int fd, uid_t uid, gid_t gid);

/// O_PATH, which Swift's Glibc module does not export.
extern const int anima_o_path;

#endif
