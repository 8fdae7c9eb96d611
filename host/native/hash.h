/* Self-contained SHA-1, SHA-224/256 and SHA-384/512 for the fanotify helper: the helper hashes
 * file content from the event's fd, and carrying these few hundred lines avoids a libcrypto
 * dependency on the machines the bridge is installed on. Kernel hash_algo numbers select them. */
#ifndef IMANS_HASH_H
#define IMANS_HASH_H
#include <stddef.h>
#include <stdint.h>

enum { HA_SHA1 = 2, HA_SHA256 = 4, HA_SHA384 = 5, HA_SHA512 = 6, HA_SHA224 = 7 };

typedef struct {
  int algo;
  uint64_t len;
  size_t fill;
  union {
    uint32_t s32[8];
    uint64_t s64[8];
  } h;
  uint8_t buf[128];
} hash_ctx;

/* Digest size in bytes of a supported algorithm, 0 when unsupported. */
size_t hash_size(int algo);
/* Returns 0, or -1 when the algorithm is unsupported. */
int hash_init(hash_ctx *c, int algo);
void hash_update(hash_ctx *c, const uint8_t *p, size_t n);
void hash_final(hash_ctx *c, uint8_t *out);

#endif
