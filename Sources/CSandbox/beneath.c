#define _GNU_SOURCE
#include "CBeneath.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

const int anima_o_path = O_PATH;

/// ENOTDIR from O_DIRECTORY | O_NOFOLLOW on a symbolic link reads better as ELOOP.
static int symlink_or(int dirfd, const char *name, int error) {
    struct stat info;
    if (error == ENOTDIR && fstatat(dirfd, name, &info, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(info.st_mode)) return -ELOOP;
    return -error;
}

static int open_walking(int dirfd, const char *path, int flags, mode_t mode) {
    char copy[4097];
    size_t length = strlen(path);
    if (length == 0 || length >= sizeof copy) return -ENAMETOOLONG;
    memcpy(copy, path, length + 1);
    int current = dirfd;
    char *name = copy;
    for (;;) {
        char *slash = strchr(name, '/');
        if (slash) *slash = 0;
        if (strcmp(name, "..") == 0) {
            if (current != dirfd) close(current);
            return -EXDEV;
        }
        int fd;
        if (slash == NULL) {
            fd = openat(current, *name ? name : ".", flags | O_NOFOLLOW | O_CLOEXEC, mode);
            if (fd < 0) fd = symlink_or(current, name, errno);
        } else if (*name == 0 || strcmp(name, ".") == 0) {
            name = slash + 1;
            continue;
        } else {
            fd = openat(current, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0) fd = symlink_or(current, name, errno);
        }
        if (current != dirfd) close(current);
        if (fd < 0 || slash == NULL) return fd;
        current = fd;
        name = slash + 1;
    }
}

int anima_open_beneath(int dirfd, const char *path, int flags, mode_t mode, int walk) {
    if (!walk) {
        struct open_how how;
        memset(&how, 0, sizeof how);
        how.flags = (unsigned long long)(flags | O_CLOEXEC);
        how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
        how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
        for (int attempt = 0; attempt < 8; attempt++) {
            long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
            if (fd >= 0) return (int)fd;
            if (errno == EAGAIN) continue;  // a concurrent rename; the kernel asks to retry
            if (errno != ENOSYS) return -errno;
            break;
        }
    }
    return open_walking(dirfd, path, flags, mode);
}

int anima_chown_fd(int fd, uid_t uid, gid_t gid) {
    return fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}
