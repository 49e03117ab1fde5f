#ifndef SENDARIX_CSYSTEMSHIMS_H
#define SENDARIX_CSYSTEMSHIMS_H
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/signalfd.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <pthread.h>
#include <time.h>

/* accept4 needs _GNU_SOURCE; wrapped in the C file. */
int sx_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
int sx_SOCK_NONBLOCK(void);
int sx_SOCK_CLOEXEC(void);
/* Ignores SIGPIPE process-wide. */
int sx_ignore_sigpipe(void);
/* Blocks SIGTERM, SIGINT, SIGHUP and SIGUSR1 in the calling thread (call before starting threads) and
   returns a non-blocking signalfd that reports them, or -1. */
int sx_signalfd_for_lifecycle(void);
/* Reads one signal number from a signalfd; returns 0 when none is pending. */
int sx_signalfd_read(int fd);
/* Replaces the process image with /proc/self/exe and the given argv (NULL-terminated). Returns only on failure. */
int sx_reexec(char *const argv[]);
/* pthread_rwlock_clockwrlock(lock, CLOCK_MONOTONIC, deadline) (glibc >= 2.30; needs _GNU_SOURCE): a timed
   exclusive lock whose deadline a change of the wall clock does not move. */
int sx_rwlock_wrlock_monotonic(pthread_rwlock_t *lock, const struct timespec *deadline);

/* The calling thread's kernel id (gettid(2)). */
int sx_gettid(void);
/* Names the calling thread (pthread_setname_np; at most 15 bytes, longer fails with ERANGE); 0 or an errno. */
int sx_set_thread_name(const char *name);
#endif
