/* Diagnostic for bench/storage: LD_PRELOAD into s3s-fs to turn Nagle off on every
 * connection it accepts (TCP_NODELAY), which s3s-fs 0.14 does not do. It writes a GET's
 * headers and its body in two writes; with Nagle on, a small body waits for the client's
 * ACK of the headers, which Linux delays up to 40 ms. Built by bench/storage:
 *   cc -O2 -shared -fPIC -o bench/target/nodelay.so bench/floor/nodelay.c -ldl */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
    static int (*real)(int, struct sockaddr *, socklen_t *, int);
    if (!real)
        real = (int (*)(int, struct sockaddr *, socklen_t *, int))dlsym(RTLD_NEXT, "accept4");
    int s = real(fd, addr, len, flags);
    if (s >= 0) {
        int one = 1;
        setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return s;
}
