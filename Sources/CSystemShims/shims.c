#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/signalfd.h>
#include <signal.h>
#include <unistd.h>
#include <pthread.h>
#include <time.h>
#include "CSystemShims.h"

int sx_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) { return accept4(fd, addr, len, flags); }
int sx_SOCK_NONBLOCK(void) { return SOCK_NONBLOCK; }
int sx_SOCK_CLOEXEC(void) { return SOCK_CLOEXEC; }
int sx_ignore_sigpipe(void) { return signal(SIGPIPE, SIG_IGN) == SIG_ERR ? -1 : 0; }

int sx_signalfd_for_lifecycle(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) return -1;
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int sx_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof(info));
    if (n != sizeof(info)) return 0;
    return (int)info.ssi_signo;
}

int sx_reexec(char *const argv[]) {
    return execv("/proc/self/exe", argv);
}

int sx_rwlock_wrlock_monotonic(pthread_rwlock_t *lock, const struct timespec *deadline) {
    return pthread_rwlock_clockwrlock(lock, CLOCK_MONOTONIC, deadline);
}

int sx_gettid(void) { return (int)gettid(); }
int sx_set_thread_name(const char *name) { return pthread_setname_np(pthread_self(), name); }
