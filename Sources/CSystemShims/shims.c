#define _GNU_SOURCE
#include <sys/socket.h>
#include <signal.h>
#include "CSystemShims.h"

int sx_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) { return accept4(fd, addr, len, flags); }
int sx_SOCK_NONBLOCK(void) { return SOCK_NONBLOCK; }
int sx_SOCK_CLOEXEC(void) { return SOCK_CLOEXEC; }
int sx_ignore_sigpipe(void) { return signal(SIGPIPE, SIG_IGN) == SIG_ERR ? -1 : 0; }
