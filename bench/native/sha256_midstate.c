/*
 * Native reference for bench/solver.ts: the same hashcash search as the wisdom kernels
 * (SHA-256 over a 64-byte prefix || 8-byte big-endian counter), written the way a native
 * client would: OpenSSL's SHA-256 (SHA-NI where the CPU has it), the prefix block compressed
 * once and its SHA256_CTX copied for every attempt, one final block per attempt.
 *
 * Usage: sha256_midstate SECONDS
 * Prints one line: "<attempts> <elapsed seconds>".
 * The low-level SHA256_* calls are deprecated in OpenSSL 3 but still the fastest way to
 * reuse a midstate; EVP_MD_CTX_copy_ex costs an allocation-free but slower context copy.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

  unsigned char counter[8] = {0};
  unsigned char digest[SHA256_DIGEST_LENGTH];
  uint64_t attempts = 0;
  uint32_t best = 0xffffffffu; /* keeps the digest live so the loop cannot be optimised away */
  double start = now_seconds();
  double elapsed = 0;
  for (;;) {
    for (int i = 0; i < 4096; i++) {
      uint64_t c = attempts++;
      for (int b = 0; b < 8; b++) counter[b] = (unsigned char)(c >> (56 - 8 * b));
      SHA256_CTX ctx = mid;
      SHA256_Update(&ctx, counter, sizeof counter);
      SHA256_Final(digest, &ctx);
      uint32_t h0 = (uint32_t)digest[0] << 24 | (uint32_t)digest[1] << 16 | (uint32_t)digest[2] << 8 | digest[3];
      if (h0 < best) best = h0;
    }
    elapsed = now_seconds() - start;
    if (elapsed >= seconds) break;
  }
  printf("%llu %.6f %08x\n", (unsigned long long)attempts, elapsed, best);
  return 0;
}
