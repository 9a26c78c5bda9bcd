/*
 * Native reference for bench/solver.ts: the same hashcash search as the wisdom kernels
 * (SHA-256 over a 64-byte prefix || 8-byte big-endian counter), written the way the fastest
 * native client would: OpenSSL's SHA-256 block function (SHA-NI where the CPU has it), the prefix
 * block compressed once, and per attempt one compression of a pre-padded final block from a copy
 * of that midstate. (The SHA256_Update + SHA256_Final form copies and pads per attempt and
 * measured about 25 % slower here: 12 vs 16.5 M/s.)
 *
 * Usage: sha256_midstate SECONDS
 * Prints one line: "<attempts> <elapsed seconds> <lowest first word, hex>".
 * SHA256_Transform is deprecated in OpenSSL 3 but still exported, and it is what reusing a
 * midstate comes down to.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 1.0;
  unsigned char prefix[64];
  for (int i = 0; i < 64; i++) prefix[i] = (unsigned char)(i * 7 + 1);

  SHA256_CTX mid;
  SHA256_Init(&mid);
  SHA256_Update(&mid, prefix, sizeof prefix);

  /* The final block of a 72-byte message: counter, the padding bit, zeros, the length (576 bits). */
  unsigned char block[64] = {0};
  block[8] = 0x80;
  block[62] = 0x02;
  block[63] = 0x40;
  uint64_t attempts = 0;
  uint32_t best = 0xffffffffu; /* keeps the digest live so the loop cannot be optimised away */
  double start = now_seconds();
  double elapsed = 0;
  for (;;) {
    for (int i = 0; i < 4096; i++) {
      uint64_t c = attempts++;
      for (int b = 0; b < 8; b++) block[b] = (unsigned char)(c >> (56 - 8 * b));
      SHA256_CTX ctx;
      memcpy(ctx.h, mid.h, sizeof mid.h);
      SHA256_Transform(&ctx, block);
      if (ctx.h[0] < best) best = ctx.h[0];
    }
    elapsed = now_seconds() - start;
    if (elapsed >= seconds) break;
  }
  printf("%llu %.6f %08x\n", (unsigned long long)attempts, elapsed, best);
  return 0;
}
