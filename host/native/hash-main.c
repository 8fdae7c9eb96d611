/* imans-hash ALGO: prints the hex digest of stdin with the helper's own hash code (tests only). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "hash.h"

int main(int argc, char **argv) {
  hash_ctx c;
  static unsigned char buf[1 << 16], out[64];
  if (argc != 2 || hash_init(&c, atoi(argv[1])) < 0) {
    fprintf(stderr, "usage: imans-hash HASH_ALGO_NUMBER (2 sha1, 4 sha256, 5 sha384, 6 sha512, 7 sha224)\n");
    return 2;
  }
  ssize_t n;
  while ((n = read(0, buf, sizeof buf)) > 0) hash_update(&c, buf, (size_t)n);
  hash_final(&c, out);
  for (size_t i = 0; i < hash_size(c.algo); i++) printf("%02x", out[i]);
  printf("\n");
  return 0;
}
