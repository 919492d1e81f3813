// What a system call costs the user code after it: walks a buffer of KB kilobytes N times, with nothing, two
// clock_gettime(CLOCK_THREAD_CPUTIME_ID) (a system call: no vDSO path), two getpid system calls, or two
// clock_gettime(CLOCK_MONOTONIC) (vDSO, no system call) around each walk. On a guest whose system calls flush the
// TLB and caches (this project's PVM virtual machine), the walk itself gets slower, not only the calls.
// Built and run by benchmarks/syscall-cost.sh.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

static long around(int mode) {
  struct timespec t;
  switch (mode) {
    case 1: clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_nsec;
    case 2: return syscall(SYS_getpid);
    case 3: clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_nsec;
    default: return 0;
  }
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: syscall-cost KB MODE(0 none, 1 thread CPU clock, 2 getpid, 3 monotonic)\n"); return 2; }
  int kb = atoi(argv[1]), mode = atoi(argv[2]);
  long n = 200000, s = 0;
  size_t words = (size_t)kb * 1024 / 8;
  volatile long *a = calloc(words, 8);
  double t0 = now();
  for (long i = 0; i < n; i++) {
    s += around(mode);
    for (size_t j = 0; j < words; j += 8) s += a[j];  // one read per 64-byte line
    s += around(mode);
  }
  printf("%d KB, %s: %.3f us per walk (%ld)\n", kb,
         (const char *[]){"nothing", "2 x CLOCK_THREAD_CPUTIME_ID", "2 x getpid", "2 x CLOCK_MONOTONIC"}[mode],
         (now() - t0) / n * 1e6, s & 1);
  return 0;
}
