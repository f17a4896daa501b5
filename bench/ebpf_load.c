/* Load generator for bench/ebpf_bench.sh: opens an existing file for writing RATE times a
 * second for SECONDS (each open is one file `modification` event of the eBPF source), paced
 * in 1 ms slices, and prints the rate achieved. Usage: ebpf_load RATE SECONDS PATH */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s RATE SECONDS PATH\n", argv[0]);
    return 2;
  }
  double rate = atof(argv[1]), seconds = atof(argv[2]);
  const char* path = argv[3];
  int fd = open(path, O_CREAT | O_WRONLY, 0600);
  if (fd < 0) return 1;
  close(fd);
  double start = now();
  long done = 0;
  for (;;) {
    double t = now() - start;
    if (t >= seconds) break;
    long due = (long)(t * rate);
    while (done < due) {
      fd = open(path, O_WRONLY);
      if (fd >= 0) close(fd);
      ++done;
    }
    struct timespec slice = {0, 1000000};
    nanosleep(&slice, NULL);
  }
  double elapsed = now() - start;
  printf("%ld opens in %.2f s: %.0f/s\n", done, elapsed, done / elapsed);
  return 0;
}
