/* imans-fanotify: the bridge's hands in the kernel. It holds a fanotify group (FAN_CLASS_CONTENT)
 * on the filesystems the bridge names, and for each open/exec permission event gathers what the
 * engine needs while the opener is still blocked: the opener's namespaces and credentials from
 * /proc, the file's stat, statfs magic, security.ima xattr and content digests read from the event
 * fd itself (never by path, so there is no time-of-check race). It then asks the bridge (Node, on
 * stdin/stdout) for a verdict and answers the kernel.
 *
 * The helper, not Node, owns the deadline: each pending event carries the fail response of its
 * opener's mount namespace (as Node configured it) and is answered with it when the deadline
 * passes. When Node goes away (stdin EOF, EPIPE, SIGTERM) every pending event gets its fail
 * response and the helper exits; closing the group removes its marks, so the kernel stops asking.
 * A stalled bridge can slow opens on the watched filesystems by at most one deadline each, never
 * hang them.
 *
 * Verdicts the engine marks cacheable are kept per (mntns, exec?, dev, ino, size, mtime, ctime,
 * uid, euid, gid, egid), so an unchanged file opened again is answered here without a round trip;
 * FAN_MODIFY / FAN_CLOSE_WRITE drop a file's entries. Digests are kept per file version (dev, ino,
 * size, mtime, ctime): a file is hashed once, as IMA does.
 *
 * Wire format, both directions: frames of u32 little-endian body length, then the body, whose first
 * byte is the type. All integers little-endian. host/fanotify.ts is the other end; keep the two in step.
 *
 * helper -> bridge
 *   R_READY   u32 version, u32 pid
 *   R_EVENT   u32 cookie, u32 mask, u32 flags, u32 pid, u64 mntns, u64 userns,
 *             u32 uid, euid, suid, fsuid, gid, egid, sgid, fsgid, auid, ses,
 *             u64 dev, u64 ino, u64 size, u64 mtime_sec, u32 mtime_nsec, u64 ctime_sec, u32 ctime_nsec,
 *             u32 fsmagic, u32 fuid, u32 fgid, u32 mode,
 *             u16 pathlen, path, u8 commlen, comm, i32 xattrlen (-1: none), xattr,
 *             u8 ndigests, { u8 algo, u8 len, digest }*
 *   R_NOTIFY  u32 mask, u32 pid, u64 dev, u64 ino            (first FAN_MODIFY of a write, FAN_CLOSE_WRITE)
 *   R_TIMEOUT u32 cookie, u8 response                        (answered by the deadline or by backpressure)
 *   R_REPLY   u32 req, i32 errno                              (to C_MARK, C_FLUSH, C_TRUST, C_LIMITS)
 *   R_STATS   u32 req, u32 n, u64 counter * n                 (order: enum counter below)
 *   R_OVERFLOW u64 overflows so far                           (the kernel's FAN_Q_OVERFLOW)
 * bridge -> helper
 *   C_MARK    u32 req, u8 op (1 add, 2 remove), path          (FAN_MARK_FILESYSTEM on path's filesystem)
 *   C_VERDICT u32 cookie, u8 response (1 allow, 2 deny), u8 cacheable
 *   C_NSCONF  u64 mntns (0: default), u8 fail response | 4 (nowait: allow at once, forward flagged ANSWERED), u32 deadline_ms
 *   C_FLUSH   u32 req                                         (policy, keys or namespaces changed)
 *   C_STATS   u32 req
 *   C_TRUST   u32 req, u32 pid                                (the bridge itself: allowed at once, not forwarded)
 *   C_LIMITS  u32 req, u64 max_hash_bytes
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "hash.h"

#define VERSION 1
#define RESP_ALLOW 1
#define RESP_DENY 2

enum { R_READY = 1, R_EVENT, R_NOTIFY, R_TIMEOUT, R_REPLY, R_STATS, R_OVERFLOW };
enum { C_MARK = 1, C_VERDICT, C_NSCONF, C_FLUSH, C_STATS, C_TRUST, C_LIMITS };

/* Event flags. The low byte matches protocol EVENT_FLAG; the rest are the helper's own notes. */
#define F_TOMTOU 0x1
#define F_PROC_GONE 0x100    /* the opener's /proc entry was gone: namespaces and credentials unknown */
#define F_HASH_ERROR 0x200   /* reading the content failed: no digests */
#define F_HASH_SKIPPED 0x400 /* larger than the hash limit: no digests */
#define F_XATTR_ERROR 0x800  /* security.ima could not be read (other than absent) */
#define F_ALGO_UNSUPPORTED 0x1000 /* the xattr names an algorithm the helper cannot compute */
#define F_ANSWERED 0x2000 /* already allowed (nowait namespace): forwarded for measurement, no verdict expected */

enum counter {
  K_EVENTS, K_PERM, K_NOTIFY, K_CACHE_HITS, K_FORWARDED, K_VERDICTS, K_LATE_VERDICTS, K_TIMEOUTS, K_ALLOWED, K_DENIED,
  K_OVERFLOWS, K_DROPPED, K_HASHED_BYTES, K_HASHED_FILES, K_DIGEST_HITS, K_PROC_GONE, K_PENDING, K_MAX_PENDING,
  K_OUT_BYTES, K_MAX_OUT, K_TRUSTED, K_COMPACTIONS, K_COUNT
};
static uint64_t ctr[K_COUNT];

static int fan = -1;
/* Every unanswered permission event holds its fd open: past this many the helper stops reading the
 * fanotify queue (the kernel keeps the events) until verdicts free some, instead of failing a read
 * with EMFILE. Set from RLIMIT_NOFILE at start. */
static size_t fd_budget = 1000;
static uint32_t self_pid;
static volatile sig_atomic_t stop_requested;
static uint64_t max_hash_bytes = 1ULL << 30;
#define OUT_MAX (64u << 20)

/* ---------- small utilities ---------- */

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void die(const char *what) {
  fprintf(stderr, "imans-fanotify: %s: %s\n", what, strerror(errno));
  exit(1);
}

typedef struct {
  uint8_t *p;
  size_t len, cap, off;
} buf_t;

/* The output and command buffers: `off` is where sending (or parsing) stands. A buffer only grows
 * here; its tail is moved to the front by its one reader (flush_out, read_commands) between frames,
 * so an offset into a frame being built stays valid. */
static buf_t out, in;

static void buf_compact(buf_t *b) {
  memmove(b->p, b->p + b->off, b->len - b->off);
  b->len -= b->off;
  b->off = 0;
}

static void buf_need(buf_t *b, size_t n) {
  if (b->len + n <= b->cap) return;
  size_t cap = b->cap ? b->cap : 65536;
  while (cap < b->len + n) cap *= 2;
  uint8_t *p = realloc(b->p, cap);
  if (!p) die("out of memory");
  b->p = p;
  b->cap = cap;
}
static void put(buf_t *b, const void *v, size_t n) {
  buf_need(b, n);
  memcpy(b->p + b->len, v, n);
  b->len += n;
}
static void put8(buf_t *b, uint8_t v) { put(b, &v, 1); }
static void put16(buf_t *b, uint16_t v) { put(b, &v, 2); }
static void put32(buf_t *b, uint32_t v) { put(b, &v, 4); }
static void put64(buf_t *b, uint64_t v) { put(b, &v, 8); }

static size_t frame_start;

static void frame_begin(uint8_t type) {
  frame_start = out.len;
  put32(&out, 0);
  put8(&out, type);
}
static void frame_end(void) {
  uint32_t n = (uint32_t)(out.len - frame_start - 4);
  memcpy(out.p + frame_start, &n, 4);
  if (out.len - out.off > ctr[K_MAX_OUT]) ctr[K_MAX_OUT] = out.len - out.off;
}

static int out_full(void) { return out.len - out.off > OUT_MAX; }

/* ---------- namespace configuration ---------- */

typedef struct {
  uint64_t mntns;
  uint8_t fail;
  /* No policy on this namespace's chain can deny: allow at once, forward the event for measurement. */
  uint8_t nowait;
  uint32_t deadline_ms;
} nsconf_t;
static nsconf_t *nsconf;
static size_t nnsconf;
static nsconf_t nsdefault = {0, RESP_DENY, 0, 500};

static const nsconf_t *ns_lookup(uint64_t mntns) {
  for (size_t i = 0; i < nnsconf; i++)
    if (nsconf[i].mntns == mntns) return &nsconf[i];
  return &nsdefault;
}

static void ns_set(uint64_t mntns, uint8_t fail, uint8_t nowait, uint32_t deadline) {
  if (mntns == 0) {
    nsdefault.fail = fail, nsdefault.nowait = nowait, nsdefault.deadline_ms = deadline;
    return;
  }
  for (size_t i = 0; i < nnsconf; i++)
    if (nsconf[i].mntns == mntns) {
      nsconf[i].fail = fail, nsconf[i].nowait = nowait, nsconf[i].deadline_ms = deadline;
      return;
    }
  nsconf_t *n = realloc(nsconf, (nnsconf + 1) * sizeof *n);
  if (!n) die("out of memory");
  nsconf = n;
  nsconf[nnsconf++] = (nsconf_t){mntns, fail, nowait, deadline};
}

static uint32_t *trusted;
static size_t ntrusted;

static int is_trusted(uint32_t pid) {
  for (size_t i = 0; i < ntrusted; i++)
    if (trusted[i] == pid) return 1;
  return 0;
}

/* ---------- file versions, caches ---------- */

typedef struct {
  uint64_t dev, ino, size, mtime_s, ctime_s;
  uint32_t mtime_ns, ctime_ns;
} version_t;

static int version_eq(const version_t *a, const version_t *b) {
  return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime_s == b->mtime_s && a->ctime_s == b->ctime_s &&
         a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

static uint32_t bucket_of(uint64_t dev, uint64_t ino, uint32_t nbuckets) {
  uint64_t h = (ino * 0x9e3779b97f4a7c15ULL) ^ (dev * 0xc2b2ae3d27d4eb4fULL);
  return (uint32_t)(h >> 40) & (nbuckets - 1);
}

typedef struct {
  uint32_t uid, euid, gid, egid;
} creds_key_t;

typedef struct {
  version_t v;
  uint64_t mntns;
  creds_key_t c;
  uint8_t exec, resp, used;
} vc_entry;
#define VC_BUCKETS 4096
#define VC_WAYS 8
static vc_entry vcache[VC_BUCKETS][VC_WAYS];
static uint8_t vc_next[VC_BUCKETS];

static vc_entry *vc_find(const version_t *v, uint64_t mntns, const creds_key_t *c, uint8_t exec) {
  vc_entry *b = vcache[bucket_of(v->dev, v->ino, VC_BUCKETS)];
  for (int i = 0; i < VC_WAYS; i++)
    if (b[i].used && b[i].mntns == mntns && b[i].exec == exec && version_eq(&b[i].v, v) && !memcmp(&b[i].c, c, sizeof *c)) return &b[i];
  return NULL;
}

static void vc_put(const version_t *v, uint64_t mntns, const creds_key_t *c, uint8_t exec, uint8_t resp) {
  vc_entry *e = vc_find(v, mntns, c, exec);
  if (!e) {
    uint32_t bi = bucket_of(v->dev, v->ino, VC_BUCKETS);
    e = &vcache[bi][vc_next[bi]];
    vc_next[bi] = (uint8_t)((vc_next[bi] + 1) % VC_WAYS);
  }
  *e = (vc_entry){*v, mntns, *c, exec, resp, 1};
}

static void vc_drop_file(uint64_t dev, uint64_t ino) {
  vc_entry *b = vcache[bucket_of(dev, ino, VC_BUCKETS)];
  for (int i = 0; i < VC_WAYS; i++)
    if (b[i].used && b[i].v.dev == dev && b[i].v.ino == ino) b[i].used = 0;
}

typedef struct {
  version_t v;
  uint8_t used, extra_algo, extra_len;
  uint8_t sha256[32];
  uint8_t extra[64];
} dc_entry;
#define DC_BUCKETS 8192
#define DC_WAYS 4
static dc_entry dcache[DC_BUCKETS][DC_WAYS];
static uint8_t dc_next[DC_BUCKETS];

static dc_entry *dc_find(const version_t *v) {
  dc_entry *b = dcache[bucket_of(v->dev, v->ino, DC_BUCKETS)];
  for (int i = 0; i < DC_WAYS; i++)
    if (b[i].used && version_eq(&b[i].v, v)) return &b[i];
  return NULL;
}

static dc_entry *dc_slot(const version_t *v) {
  uint32_t bi = bucket_of(v->dev, v->ino, DC_BUCKETS);
  dc_entry *e = &dcache[bi][dc_next[bi]];
  dc_next[bi] = (uint8_t)((dc_next[bi] + 1) % DC_WAYS);
  memset(e, 0, sizeof *e);
  e->v = *v;
  return e;
}

static void dc_drop_file(uint64_t dev, uint64_t ino) {
  dc_entry *b = dcache[bucket_of(dev, ino, DC_BUCKETS)];
  for (int i = 0; i < DC_WAYS; i++)
    if (b[i].used && b[i].v.dev == dev && b[i].v.ino == ino) b[i].used = 0;
}

/* Files written to since their last FAN_CLOSE_WRITE: a reader opening one is a ToMToU violation,
 * and its content is in flux, so nothing about it is cached. */
typedef struct {
  uint64_t dev, ino;
} file_id;
static file_id *writing;
static size_t nwriting, capwriting;

static int writing_find(uint64_t dev, uint64_t ino) {
  for (size_t i = 0; i < nwriting; i++)
    if (writing[i].dev == dev && writing[i].ino == ino) return (int)i;
  return -1;
}

/* ---------- pending permission events ----------
 * Cookies are given out consecutively and every forwarded event is pending until its verdict or
 * deadline, so the pending events form a ring indexed by cookie: slot (cookie - first) holds it,
 * found in O(1) when its verdict comes; answered slots are dropped from the front. Deadlines differ
 * per namespace, so they sit in a min-heap (with entries left behind by verdicts skipped on the way):
 * the nearest deadline costs O(log n), not a scan of everything pending. */

typedef struct {
  uint32_t cookie;
  int fd;
  uint64_t deadline;
  uint8_t live, fail, exec, cache_ok;
  /* Allowed already (nowait namespace): kept only so that a cacheable verdict can still be cached. */
  uint8_t answered;
  version_t v;
  uint64_t mntns;
  creds_key_t c;
} pending_t;
static pending_t *ring;
static size_t ring_cap, ring_head, ring_len; /* ring_cap: a power of two */
static uint32_t ring_first;                  /* cookie of slot ring_head */
static size_t npending;                      /* live slots */
static size_t nheld;                         /* live slots holding the kernel's fd (not yet answered) */
static uint32_t next_cookie = 1;

typedef struct {
  uint64_t deadline;
  uint32_t cookie;
} deadline_t;
static deadline_t *heap;
static size_t nheap, capheap;

static pending_t *pending_find(uint32_t cookie) {
  uint32_t k = cookie - ring_first;
  if (k >= ring_len) return NULL;
  pending_t *p = &ring[(ring_head + k) & (ring_cap - 1)];
  return p->live ? p : NULL;
}

static void heap_push(uint64_t deadline, uint32_t cookie) {
  if (nheap == capheap) {
    capheap = capheap ? capheap * 2 : 256;
    deadline_t *h = realloc(heap, capheap * sizeof *h);
    if (!h) die("out of memory");
    heap = h;
  }
  size_t i = nheap++;
  while (i > 0 && heap[(i - 1) / 2].deadline > deadline) {
    heap[i] = heap[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  heap[i] = (deadline_t){deadline, cookie};
}

static void heap_pop(void) {
  deadline_t last = heap[--nheap];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= nheap) break;
    if (c + 1 < nheap && heap[c + 1].deadline < heap[c].deadline) c++;
    if (heap[c].deadline >= last.deadline) break;
    heap[i] = heap[c];
    i = c;
  }
  if (nheap) heap[i] = last;
}

/* The heap's top, after dropping entries whose events were answered meanwhile; NULL when empty. */
static const deadline_t *heap_top(void) {
  while (nheap && !pending_find(heap[0].cookie)) heap_pop();
  return nheap ? &heap[0] : NULL;
}

static pending_t *pending_add(uint32_t cookie) {
  if (ring_len == 0) ring_head = 0, ring_first = cookie;
  if (ring_len == ring_cap) {
    size_t cap = ring_cap ? ring_cap * 2 : 1024;
    pending_t *r = malloc(cap * sizeof *r);
    if (!r) die("out of memory");
    for (size_t k = 0; k < ring_len; k++) r[k] = ring[(ring_head + k) & (ring_cap - 1)];
    free(ring);
    ring = r, ring_cap = cap, ring_head = 0;
  }
  pending_t *p = &ring[(ring_head + ring_len++) & (ring_cap - 1)];
  npending++;
  ctr[K_PENDING] = npending;
  if (npending > ctr[K_MAX_PENDING]) ctr[K_MAX_PENDING] = npending;
  return p;
}

static void respond(int fd, uint8_t resp) {
  struct fanotify_response r = {.fd = fd, .response = resp == RESP_ALLOW ? FAN_ALLOW : FAN_DENY};
  /* ENOENT: the kernel already gave up on this event (its opener was killed). */
  if (write(fan, &r, sizeof r) < 0 && errno != ENOENT) fprintf(stderr, "imans-fanotify: response: %s\n", strerror(errno));
  ctr[resp == RESP_ALLOW ? K_ALLOWED : K_DENIED]++;
}

static void pending_remove(pending_t *p) {
  if (p->fd >= 0) close(p->fd), nheld--;
  p->live = 0;
  npending--;
  ctr[K_PENDING] = npending;
  while (ring_len && !ring[ring_head].live) {
    ring_head = (ring_head + 1) & (ring_cap - 1);
    ring_first++;
    ring_len--;
  }
}

static void send_timeout(uint32_t cookie, uint8_t resp) {
  frame_begin(R_TIMEOUT);
  put32(&out, cookie);
  put8(&out, resp);
  frame_end();
}

static void expire(uint64_t now) {
  const deadline_t *t;
  while ((t = heap_top()) && t->deadline <= now) {
    pending_t *p = pending_find(t->cookie);
    heap_pop();
    if (!p->answered) {
      respond(p->fd, p->fail);
      send_timeout(p->cookie, p->fail);
      ctr[K_TIMEOUTS]++;
    }
    pending_remove(p);
  }
}

/* ---------- /proc ---------- */

typedef struct {
  uint64_t mntns, userns;
  uint32_t uid[4], gid[4], auid, ses;
  char comm[64];
  int gone, have_comm;
} proc_t;

/* Credentials without /proc/PID/status (Linux 6.13+): each event brings a pidfd of its opener
 * (FAN_REPORT_PIDFD, 5.15+) and PIDFD_GET_INFO answers with the ids as numbers, about a
 * fifteenth of the cost of formatting the status text; comm is then read only for events that
 * are forwarded. On an older kernel either step is refused and status is read as before.
 * The ABI below is the kernel's include/uapi/linux/pidfd.h (this machine's headers may predate it). */
struct imans_pidfd_info {
  uint64_t mask, cgroupid;
  uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid, spare0[1];
};
#define IMANS_PIDFD_GET_INFO _IOWR(0xFF, 11, struct imans_pidfd_info)
#define IMANS_PIDFD_INFO_CREDS (1ULL << 1)
static int pidfd_info_works = 1;

/* The opener's pidfd from the event's info records, or -1 (none, or the kernel's FAN_NOPIDFD/FAN_EPIDFD). */
static int event_pidfd(const struct fanotify_event_metadata *m) {
  const uint8_t *p = (const uint8_t *)m + m->metadata_len, *end = (const uint8_t *)m + m->event_len;
  while (p + sizeof(struct fanotify_event_info_header) <= end) {
    const struct fanotify_event_info_header *h = (const void *)p;
    if (h->len < sizeof *h || p + h->len > end) break;
    if (h->info_type == FAN_EVENT_INFO_TYPE_PIDFD && h->len >= sizeof(struct fanotify_event_info_pidfd)) {
      int fd = ((const struct fanotify_event_info_pidfd *)(const void *)p)->pidfd;
      return fd >= 0 ? fd : -1;
    }
    p += h->len;
  }
  return -1;
}

static int read_small(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, cap - 1);
  close(fd);
  if (n < 0) return -1;
  buf[n] = 0;
  return (int)n;
}

/* The namespace inode from the link's text ("mnt:[4026531841]"): half the cost of stat(), which
 * opens the namespace to follow the link. */
static uint64_t ns_inode(uint32_t pid, const char *which) {
  char path[64], link[64];
  snprintf(path, sizeof path, "/proc/%u/ns/%s", pid, which);
  ssize_t n = readlink(path, link, sizeof link - 1);
  if (n <= 0) return 0;
  link[n] = 0;
  const char *b = strchr(link, '[');
  return b ? strtoull(b + 1, NULL, 10) : 0;
}

static void parse_ids(const char *s, uint32_t *ids) {
  for (int i = 0; i < 4; i++) {
    char *end;
    ids[i] = (uint32_t)strtoul(s, &end, 10);
    s = end;
  }
}

/* Namespace and credentials (the verdict cache key); comm too when status had to be read. */
static void read_proc(uint32_t pid, int pidfd, proc_t *p) {
  char path[64], buf[4096];
  memset(p, 0, sizeof *p);
  p->auid = p->ses = 4294967295u;
  p->mntns = ns_inode(pid, "mnt");
  if (p->mntns == 0) {
    p->gone = 1;
    return;
  }
  if (pidfd >= 0 && pidfd_info_works) {
    struct imans_pidfd_info in;
    memset(&in, 0, sizeof in);
    in.mask = IMANS_PIDFD_INFO_CREDS;
    if (ioctl(pidfd, IMANS_PIDFD_GET_INFO, &in) == 0 && (in.mask & IMANS_PIDFD_INFO_CREDS)) {
      p->uid[0] = in.ruid, p->uid[1] = in.euid, p->uid[2] = in.suid, p->uid[3] = in.fsuid;
      p->gid[0] = in.rgid, p->gid[1] = in.egid, p->gid[2] = in.sgid, p->gid[3] = in.fsgid;
      return;
    }
    if (errno == ESRCH) {
      p->gone = 1;
      return;
    }
    pidfd_info_works = 0;
  }
  snprintf(path, sizeof path, "/proc/%u/status", pid);
  if (read_small(path, buf, sizeof buf) < 0) {
    p->gone = 1;
    return;
  }
  p->have_comm = 1;
  char *l;
  if ((l = strstr(buf, "\nUid:"))) parse_ids(l + 5, p->uid);
  if ((l = strstr(buf, "\nGid:"))) parse_ids(l + 5, p->gid);
  if (strncmp(buf, "Name:\t", 6) == 0) {
    size_t i = 0;
    for (const char *s = buf + 6; *s && *s != '\n' && i < sizeof p->comm - 1; s++) p->comm[i++] = *s;
  }
}

/* What a forwarded event carries besides: user namespace, audit login uid and session. These are
 * set once in a process's life (or by a setns the policy does not key on), so they are kept per pid
 * for a second: a pid is not reused that fast, and a busy process is not read three more times per open. */
typedef struct {
  uint32_t pid;
  uint64_t at, userns;
  uint32_t auid, ses;
} pidinfo_t;
#define PIDINFO_SLOTS 1024
#define PIDINFO_TTL_MS 1000
static pidinfo_t pidinfo[PIDINFO_SLOTS];

static void read_proc_rest(uint32_t pid, proc_t *p, uint64_t now) {
  if (!p->have_comm) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%u/comm", pid);
    int n = read_small(path, p->comm, sizeof p->comm);
    if (n > 0 && p->comm[n - 1] == '\n') p->comm[n - 1] = 0;
    if (n < 0) p->comm[0] = 0;
    p->have_comm = 1;
  }
  pidinfo_t *pi = &pidinfo[pid % PIDINFO_SLOTS];
  if (pi->pid == pid && now - pi->at < PIDINFO_TTL_MS) {
    p->userns = pi->userns, p->auid = pi->auid, p->ses = pi->ses;
    return;
  }
  char path[64], buf[32];
  p->userns = ns_inode(pid, "user");
  snprintf(path, sizeof path, "/proc/%u/loginuid", pid);
  if (read_small(path, buf, sizeof buf) > 0) p->auid = (uint32_t)strtoul(buf, NULL, 10);
  snprintf(path, sizeof path, "/proc/%u/sessionid", pid);
  if (read_small(path, buf, sizeof buf) > 0) p->ses = (uint32_t)strtoul(buf, NULL, 10);
  *pi = (pidinfo_t){pid, now, p->userns, p->auid, p->ses};
}

/* ---------- content ---------- */

/* The algorithm a security.ima value names besides sha256, or 0. */
static int xattr_algo(const uint8_t *x, ssize_t n) {
  if (n < 2) return 0;
  if (x[0] == 0x01) return HA_SHA1;                 /* IMA_XATTR_DIGEST: sha1 (or legacy md5: unsupported) */
  if (x[0] == 0x04) return x[1];                    /* IMA_XATTR_DIGEST_NG: algo byte */
  if ((x[0] == 0x03 || x[0] == 0x06) && n >= 3) return x[2]; /* signature v2/v3 header: hash_algo */
  return 0;
}

static uint8_t iobuf[1 << 16];

/* Hash from the fd; keeps answering other events' deadlines while a big file is read. */
static int hash_fd(int fd, uint64_t size, int extra, dc_entry *e) {
  hash_ctx h256, hx;
  hash_init(&h256, HA_SHA256);
  int want_extra = extra && extra != HA_SHA256 && hash_size(extra) > 0;
  if (want_extra) hash_init(&hx, extra);
  uint64_t off = 0;
  unsigned chunks = 0;
  for (;;) {
    ssize_t n = pread(fd, iobuf, sizeof iobuf, (off_t)off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) break;
    hash_update(&h256, iobuf, (size_t)n);
    if (want_extra) hash_update(&hx, iobuf, (size_t)n);
    off += (uint64_t)n;
    /* A short read that reaches the size fstat gave is the end: spare the read that returns 0.
     * (A file growing meanwhile is a new version, which FAN_MODIFY reports.) */
    if ((size_t)n < sizeof iobuf && off >= size) break;
    if (++chunks % 64 == 0) expire(now_ms());
  }
  ctr[K_HASHED_BYTES] += off;
  ctr[K_HASHED_FILES]++;
  hash_final(&h256, e->sha256);
  if (want_extra) {
    hash_final(&hx, e->extra);
    e->extra_algo = (uint8_t)extra;
    e->extra_len = (uint8_t)hash_size(extra);
  }
  e->used = 1;
  return 0;
}

/* ---------- events ---------- */

static void version_of(const struct stat *st, version_t *v) {
  v->dev = st->st_dev, v->ino = st->st_ino, v->size = (uint64_t)st->st_size;
  v->mtime_s = (uint64_t)st->st_mtim.tv_sec, v->mtime_ns = (uint32_t)st->st_mtim.tv_nsec;
  v->ctime_s = (uint64_t)st->st_ctim.tv_sec, v->ctime_ns = (uint32_t)st->st_ctim.tv_nsec;
}

static void handle_notify(const struct fanotify_event_metadata *m) {
  struct stat st;
  ctr[K_NOTIFY]++;
  if (m->fd < 0 || fstat(m->fd, &st) < 0) return;
  uint64_t dev = st.st_dev, ino = st.st_ino;
  int first = 0;
  if (m->mask & FAN_MODIFY) {
    if (writing_find(dev, ino) < 0) {
      if (nwriting == capwriting) {
        capwriting = capwriting ? capwriting * 2 : 64;
        file_id *w = realloc(writing, capwriting * sizeof *w);
        if (!w) die("out of memory");
        writing = w;
      }
      writing[nwriting++] = (file_id){dev, ino};
      first = 1;
    }
  }
  if (m->mask & FAN_CLOSE_WRITE) {
    int i = writing_find(dev, ino);
    if (i >= 0) writing[i] = writing[--nwriting];
    first = 1;
  }
  vc_drop_file(dev, ino);
  dc_drop_file(dev, ino);
  if (!first) return;
  if (out_full()) {
    ctr[K_DROPPED]++;
    return;
  }
  frame_begin(R_NOTIFY);
  put32(&out, (uint32_t)(m->mask & (FAN_MODIFY | FAN_CLOSE_WRITE)));
  put32(&out, (uint32_t)m->pid);
  put64(&out, dev);
  put64(&out, ino);
  frame_end();
}

static void handle_perm(const struct fanotify_event_metadata *m, int pidfd) {
  int fd = m->fd;
  uint32_t pid = (uint32_t)m->pid;
  uint8_t exec = (m->mask & FAN_OPEN_EXEC_PERM) ? 1 : 0;
  ctr[K_PERM]++;
  if (pid == self_pid || is_trusted(pid)) {
    ctr[K_TRUSTED]++;
    respond(fd, RESP_ALLOW);
    close(fd);
    return;
  }
  struct stat st;
  struct statfs sfs;
  proc_t p;
  version_t v;
  uint32_t flags = 0;
  read_proc(pid, pidfd, &p);
  if (p.gone) flags |= F_PROC_GONE, ctr[K_PROC_GONE]++;
  const nsconf_t *ns = ns_lookup(p.mntns);
  if (fstat(fd, &st) < 0) {
    respond(fd, ns->fail);
    close(fd);
    return;
  }
  version_of(&st, &v);
  creds_key_t ck = {p.uid[0], p.uid[1], p.gid[0], p.gid[1]};
  int in_flux = writing_find(v.dev, v.ino) >= 0;
  if (in_flux && !exec) flags |= F_TOMTOU;
  if (!in_flux && !p.gone) {
    vc_entry *hit = vc_find(&v, p.mntns, &ck, exec);
    if (hit) {
      ctr[K_CACHE_HITS]++;
      respond(fd, hit->resp);
      close(fd);
      return;
    }
  }
  /* The filesystem's magic goes only into forwarded events: a cached answer does without it. */
  if (fstatfs(fd, &sfs) < 0) {
    respond(fd, ns->fail);
    close(fd);
    return;
  }
  if (out_full()) {
    /* The bridge is not reading: answer now rather than queue without bound. */
    ctr[K_DROPPED]++;
    respond(fd, ns->fail);
    close(fd);
    return;
  }
  if (!p.gone) read_proc_rest(pid, &p, now_ms());

  static uint8_t *xbuf;
  static size_t xcap;
  ssize_t xlen = fgetxattr(fd, "security.ima", NULL, 0);
  if (xlen > 0) {
    if ((size_t)xlen > xcap) {
      xcap = (size_t)xlen;
      xbuf = realloc(xbuf, xcap);
      if (!xbuf) die("out of memory");
    }
    ssize_t got = fgetxattr(fd, "security.ima", xbuf, (size_t)xlen);
    /* ERANGE: it grew between the two calls; report it unreadable rather than loop. */
    if (got < 0) xlen = -1, flags |= F_XATTR_ERROR;
    else xlen = got;
  } else if (xlen < 0 && errno != ENODATA && errno != ENOTSUP) flags |= F_XATTR_ERROR;
  if (xlen < 0) xlen = -1;
  int extra = xlen > 0 ? xattr_algo(xbuf, xlen) : 0;
  if (extra && extra != HA_SHA256 && hash_size(extra) == 0) flags |= F_ALGO_UNSUPPORTED, extra = 0;

  dc_entry *d = in_flux ? NULL : dc_find(&v);
  dc_entry tmp;
  if (d && extra && extra != HA_SHA256 && d->extra_algo != extra) d = NULL;
  if (d) ctr[K_DIGEST_HITS]++;
  else if (!S_ISREG(st.st_mode)) d = NULL;
  else if ((uint64_t)st.st_size > max_hash_bytes) flags |= F_HASH_SKIPPED;
  else {
    d = in_flux ? &tmp : dc_slot(&v);
    if (in_flux) memset(d, 0, sizeof *d);
    if (hash_fd(fd, v.size, extra, d) < 0) {
      flags |= F_HASH_ERROR;
      d->used = 0;
      d = NULL;
    }
  }

  uint8_t answered = ns->nowait;
  if (answered) {
    flags |= F_ANSWERED;
    respond(fd, RESP_ALLOW);
  }

  char path[PATH_MAX], link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t plen = readlink(link, path, sizeof path - 1);
  if (plen < 0) plen = 0;
  if (plen > 65535) plen = 65535;

  /* Wraps through 0 too: the pending ring finds a cookie by its distance from the oldest one. */
  uint32_t cookie = next_cookie++;
  frame_begin(R_EVENT);
  put32(&out, cookie);
  put32(&out, (uint32_t)m->mask);
  put32(&out, flags);
  put32(&out, pid);
  put64(&out, p.mntns);
  put64(&out, p.userns);
  for (int i = 0; i < 4; i++) put32(&out, p.uid[i]);
  for (int i = 0; i < 4; i++) put32(&out, p.gid[i]);
  put32(&out, p.auid);
  put32(&out, p.ses);
  put64(&out, v.dev);
  put64(&out, v.ino);
  put64(&out, v.size);
  put64(&out, v.mtime_s);
  put32(&out, v.mtime_ns);
  put64(&out, v.ctime_s);
  put32(&out, v.ctime_ns);
  put32(&out, (uint32_t)sfs.f_type);
  put32(&out, st.st_uid);
  put32(&out, st.st_gid);
  put32(&out, st.st_mode);
  put16(&out, (uint16_t)plen);
  put(&out, path, (size_t)plen);
  size_t clen = strlen(p.comm);
  put8(&out, (uint8_t)clen);
  put(&out, p.comm, clen);
  put32(&out, (uint32_t)(int32_t)xlen);
  if (xlen > 0) put(&out, xbuf, (size_t)xlen);
  uint8_t nd = d ? (d->extra_len ? 2 : 1) : 0;
  put8(&out, nd);
  if (d) {
    put8(&out, HA_SHA256);
    put8(&out, 32);
    put(&out, d->sha256, 32);
    if (d->extra_len) {
      put8(&out, d->extra_algo);
      put8(&out, d->extra_len);
      put(&out, d->extra, d->extra_len);
    }
  }
  frame_end();
  ctr[K_FORWARDED]++;
  if (answered) {
    close(fd);
    fd = -1;
  }

  uint64_t deadline = now_ms() + ns->deadline_ms;
  *pending_add(cookie) = (pending_t){cookie, fd, deadline, 1, ns->fail, exec, !in_flux && !p.gone, answered, v, p.mntns, ck};
  if (fd >= 0) nheld++;
  heap_push(deadline, cookie);
}

static void read_fanotify(void) {
  static uint8_t buf[64 * 1024] __attribute__((aligned(8)));
  for (int rounds = 0; rounds < 16 && nheld + 2800 < fd_budget; rounds++) {
    ssize_t n = read(fan, buf, sizeof buf);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      /* Out of descriptors despite the budget (another part of the process holds some): the
       * events stay queued in the kernel; try again once verdicts have closed some. */
      if (errno == EMFILE || errno == ENFILE) return;
      die("read fanotify");
    }
    struct fanotify_event_metadata *m = (void *)buf;
    for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
      ctr[K_EVENTS]++;
      if (m->vers != FANOTIFY_METADATA_VERSION) {
        fprintf(stderr, "imans-fanotify: kernel metadata version %u, built for %u\n", m->vers, FANOTIFY_METADATA_VERSION);
        exit(1);
      }
      if (m->mask & FAN_Q_OVERFLOW) {
        ctr[K_OVERFLOWS]++;
        frame_begin(R_OVERFLOW);
        put64(&out, ctr[K_OVERFLOWS]);
        frame_end();
        continue;
      }
      int pidfd = event_pidfd(m);
      if (m->mask & (FAN_OPEN_PERM | FAN_OPEN_EXEC_PERM)) handle_perm(m, pidfd);
      else {
        handle_notify(m);
        if (m->fd >= 0) close(m->fd);
      }
      if (pidfd >= 0) close(pidfd);
    }
    expire(now_ms());
    /* Well short of a full buffer: the queue was empty when read, so poll rather than spend a read on EAGAIN. */
    if (n < (ssize_t)sizeof buf / 2) return;
  }
}

/* ---------- commands ---------- */

static uint32_t rd32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
static uint64_t rd64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

static void reply(uint32_t req, int32_t err) {
  frame_begin(R_REPLY);
  put32(&out, req);
  put32(&out, (uint32_t)err);
  frame_end();
}

static void command(const uint8_t *b, uint32_t n) {
  if (n < 1) return;
  uint8_t type = b[0];
  b++, n--;
  switch (type) {
  case C_MARK: {
    if (n < 6) break;
    uint32_t req = rd32(b);
    char path[PATH_MAX];
    uint32_t plen = n - 5 < PATH_MAX - 1 ? n - 5 : PATH_MAX - 1;
    memcpy(path, b + 5, plen);
    path[plen] = 0;
    unsigned flags = (b[4] == 1 ? FAN_MARK_ADD : FAN_MARK_REMOVE) | FAN_MARK_FILESYSTEM;
    uint64_t mask = FAN_OPEN_PERM | FAN_OPEN_EXEC_PERM | FAN_CLOSE_WRITE | FAN_MODIFY;
    reply(req, fanotify_mark(fan, flags, mask, AT_FDCWD, path) < 0 ? errno : 0);
    break;
  }
  case C_VERDICT: {
    if (n < 6) break;
    uint32_t cookie = rd32(b);
    uint8_t resp = b[4] == RESP_ALLOW ? RESP_ALLOW : RESP_DENY;
    pending_t *p = pending_find(cookie);
    if (!p) {
      ctr[K_LATE_VERDICTS]++;
      break;
    }
    if (!p->answered) respond(p->fd, resp);
    /* A verdict for a file written to meanwhile describes an older version: do not keep it. */
    if (b[5] && p->cache_ok && (!p->answered || resp == RESP_ALLOW) && writing_find(p->v.dev, p->v.ino) < 0) vc_put(&p->v, p->mntns, &p->c, p->exec, resp);
    ctr[K_VERDICTS]++;
    pending_remove(p);
    break;
  }
  case C_NSCONF:
    if (n < 13) break;
    ns_set(rd64(b), (b[8] & 3) == RESP_ALLOW ? RESP_ALLOW : RESP_DENY, (b[8] & 4) ? 1 : 0, rd32(b + 9));
    memset(vcache, 0, sizeof vcache);
    break;
  case C_FLUSH:
    if (n < 4) break;
    memset(vcache, 0, sizeof vcache);
    reply(rd32(b), 0);
    break;
  case C_STATS:
    if (n < 4) break;
    frame_begin(R_STATS);
    put32(&out, rd32(b));
    put32(&out, K_COUNT);
    for (int i = 0; i < K_COUNT; i++) put64(&out, ctr[i]);
    frame_end();
    break;
  case C_TRUST: {
    if (n < 8) break;
    uint32_t *t = realloc(trusted, (ntrusted + 1) * sizeof *t);
    if (!t) die("out of memory");
    trusted = t;
    trusted[ntrusted++] = rd32(b + 4);
    reply(rd32(b), 0);
    break;
  }
  case C_LIMITS:
    if (n < 12) break;
    max_hash_bytes = rd64(b + 4);
    reply(rd32(b), 0);
    break;
  default:
    fprintf(stderr, "imans-fanotify: unknown command %u\n", type);
  }
}

/* Returns 0 on EOF. */
static int read_commands(void) {
  buf_need(&in, 65536);
  ssize_t n = read(0, in.p + in.len, in.cap - in.len);
  if (n == 0) return 0;
  if (n < 0) return errno == EAGAIN || errno == EINTR ? 1 : 0;
  in.len += (size_t)n;
  while (in.len - in.off >= 4) {
    uint32_t fl = rd32(in.p + in.off);
    if (fl > (1u << 20)) {
      fprintf(stderr, "imans-fanotify: command frame of %u bytes: stream out of step\n", fl);
      return 0;
    }
    if (in.len - in.off - 4 < fl) {
      buf_need(&in, fl + 4);
      break;
    }
    command(in.p + in.off + 4, fl);
    in.off += 4 + fl;
  }
  buf_compact(&in);
  return 1;
}

/* Returns 0 when the bridge has gone (EPIPE). */
static int flush_out(void) {
  while (out.off < out.len) {
    ssize_t n = write(1, out.p + out.off, out.len - out.off);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) break;
      return 0;
    }
    out.off += (size_t)n;
    ctr[K_OUT_BYTES] += (uint64_t)n;
  }
  if (out.off == out.len) out.off = out.len = 0;
  else if (out.off >= out.len - out.off) {
    /* The bridge is behind and more has been sent than is left: move what is left to the front,
     * so the buffer holds the backlog rather than everything since it began. */
    buf_compact(&out);
    ctr[K_COMPACTIONS]++;
  }
  return 1;
}

static void on_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

static void shutdown_all(const char *why) {
  size_t n = 0;
  for (size_t k = 0; k < ring_len; k++) {
    pending_t *p = &ring[(ring_head + k) & (ring_cap - 1)];
    if (!p->live || p->answered) continue;
    respond(p->fd, p->fail);
    close(p->fd);
    n++;
  }
  fprintf(stderr, "imans-fanotify: %s; answered %zu pending by their fail response, exiting\n", why, n);
  close(fan);
  exit(0);
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--version") == 0) {
    printf("imans-fanotify %d\n", VERSION);
    return 0;
  }
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  /* An unlimited queue: on overflow the kernel would let permission events through unanswered. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    if (rl.rlim_cur < rl.rlim_max) {
      rl.rlim_cur = rl.rlim_max;
      setrlimit(RLIMIT_NOFILE, &rl);
      getrlimit(RLIMIT_NOFILE, &rl);
    }
    /* Room for /proc reads, the file being hashed, stdio and the fanotify group itself. */
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur > 128) fd_budget = (size_t)rl.rlim_cur - 64;
    else if (rl.rlim_cur == RLIM_INFINITY) fd_budget = 1u << 20;
  }
  /* Every opener on a watched filesystem waits on this process, and each response wakes openers
   * that would otherwise preempt it: run ahead of them (as root may; otherwise stay as is). */
  if (setpriority(PRIO_PROCESS, 0, -10) < 0) errno = 0;
  unsigned init_flags = FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK | FAN_UNLIMITED_QUEUE;
  fan = fanotify_init(init_flags | FAN_REPORT_PIDFD, O_RDONLY | O_LARGEFILE | O_CLOEXEC);
  if (fan < 0 && errno == EINVAL) fan = fanotify_init(init_flags, O_RDONLY | O_LARGEFILE | O_CLOEXEC), pidfd_info_works = 0;
  if (fan < 0) die("fanotify_init (needs CAP_SYS_ADMIN)");
  self_pid = (uint32_t)getpid();
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  fcntl(1, F_SETFL, fcntl(1, F_GETFL) | O_NONBLOCK);
  frame_begin(R_READY);
  put32(&out, VERSION);
  put32(&out, (uint32_t)getpid());
  frame_end();
  for (;;) {
    if (stop_requested) shutdown_all("signalled");
    uint64_t now = now_ms();
    int timeout = -1;
    const deadline_t *next = heap_top();
    if (next) timeout = next->deadline > now ? (int)(next->deadline - now) : 0;
    /* A fanotify read returns up to 64 KiB of events: keep that much headroom in the fd budget. */
    short fan_events = nheld + 2800 < fd_budget ? POLLIN : 0;
    struct pollfd pf[3] = {{fan, fan_events, 0}, {0, POLLIN, 0}, {1, out.len > out.off ? POLLOUT : 0, 0}};
    int r = poll(pf, 3, timeout);
    if (r < 0 && errno != EINTR) die("poll");
    expire(now_ms());
    if (r > 0 && (pf[1].revents & (POLLIN | POLLHUP | POLLERR)) && !read_commands()) shutdown_all("bridge closed its end");
    if (r > 0 && (pf[0].revents & POLLIN)) read_fanotify();
    if (r > 0 && (pf[2].revents & (POLLERR | POLLHUP))) shutdown_all("bridge closed its end");
    if (out.len > out.off && !flush_out()) shutdown_all("bridge closed its end");
  }
}
