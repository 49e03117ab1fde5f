#ifndef SENDARIX_CSYSTEMSHIMS_H
#define SENDARIX_CSYSTEMSHIMS_H
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>

/* accept4 needs _GNU_SOURCE; wrapped in the C file. */
int sx_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
int sx_SOCK_NONBLOCK(void);
int sx_SOCK_CLOEXEC(void);
/* Block the given signal in this thread (for signalfd-free signal handling). */
int sx_ignore_sigpipe(void);
#endif
