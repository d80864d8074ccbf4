/*
 * The native install floor of `deno task bench` (tests/bench/_floor.ts compiles it with `cc -O2`
 * into the run's scratch directory; it is bench tooling, not product code).
 *
 * It does the durable work an install of a bundle directory cannot avoid, and nothing else:
 *
 *   1. create <stage> (0755) and its subdirectories;
 *   2. for each file, in the order given: open the source (never through a link), read it in
 *      1 MiB chunks, SHA-256 every chunk, write it to <stage>/<file> (created exclusively, 0444);
 *      print "<hex digest>  <file>" (sha256sum's format, so the bench can check the hashing);
 *   3. fdatasync every written file: in batches of <batch> files (0: all at the end), each
 *      batch spread over <threads> threads, then close them;
 *   4. fsync every directory of <stage> (deepest first when <threads> is 1);
 *   (<threads> 0 instead of 3 and 4: one syncfs(2) of the file system <stage> is on, once every
 *   file is written — what core/store/fs.ts Durable does on Linux >= 5.8;)
 *   5. rename <stage> to <final>, then fsync the directory holding <final>.
 *
 * usage: floor <src dir> <stage dir> <final dir> <threads> <batch> <file>...
 *        floor --sha-impl   (prints "openssl" or "portable")
 *
 * SHA-256 comes from OpenSSL's libcrypto when built with -DFLOOR_OPENSSL -lcrypto (the build
 * tries that first), else from the portable implementation below.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (1024 * 1024)

static void die(const char *what, const char *path) {
  fprintf(stderr, "floor: cannot %s %s: %s\n", what, path, strerror(errno));
  exit(1);
}

/* ------------------------------------------------------------------------------------------ */
/* SHA-256 */

#ifdef FLOOR_OPENSSL
#include <openssl/evp.h>

typedef struct {
  EVP_MD_CTX *ctx;
} sha256_t;

static void sha256_init(sha256_t *s) {
  s->ctx = EVP_MD_CTX_new();
  if (!s->ctx || EVP_DigestInit_ex(s->ctx, EVP_sha256(), NULL) != 1) {
    fprintf(stderr, "floor: cannot start SHA-256 in libcrypto\n");
    exit(1);
  }
}
static void sha256_update(sha256_t *s, const uint8_t *p, size_t n) {
  EVP_DigestUpdate(s->ctx, p, n);
}
static void sha256_final(sha256_t *s, uint8_t out[32]) {
  unsigned int len = 32;
  EVP_DigestFinal_ex(s->ctx, out, &len);
  EVP_MD_CTX_free(s->ctx);
}
static const char *SHA_IMPL = "openssl";
#else
typedef struct {
  uint32_t h[8];
  uint8_t block[64];
  size_t used;
  uint64_t bytes;
} sha256_t;

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const uint8_t *p) {
  uint32_t w[64];
  for (int i = 0; i < 16; i++) {
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
           (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
  }
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = k + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
    uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    k = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += k;
}

static void sha256_init(sha256_t *s) {
  static const uint32_t init[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(s->h, init, sizeof init);
  s->used = 0;
  s->bytes = 0;
}

static void sha256_update(sha256_t *s, const uint8_t *p, size_t n) {
  s->bytes += n;
  if (s->used > 0) {
    size_t take = 64 - s->used < n ? 64 - s->used : n;
    memcpy(s->block + s->used, p, take);
    s->used += take, p += take, n -= take;
    if (s->used < 64) return;
    sha256_block(s->h, s->block);
    s->used = 0;
  }
  for (; n >= 64; p += 64, n -= 64) sha256_block(s->h, p);
  memcpy(s->block, p, n);
  s->used = n;
}

static void sha256_final(sha256_t *s, uint8_t out[32]) {
  uint64_t bits = s->bytes * 8;
  uint8_t pad[72] = {0x80};
  size_t padLen = (s->used < 56 ? 56 : 120) - s->used;
  for (int i = 0; i < 8; i++) pad[padLen + i] = (uint8_t)(bits >> (56 - 8 * i));
  sha256_update(s, pad, padLen + 8);
  for (int i = 0; i < 8; i++) {
    out[4 * i] = (uint8_t)(s->h[i] >> 24), out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
    out[4 * i + 2] = (uint8_t)(s->h[i] >> 8), out[4 * i + 3] = (uint8_t)s->h[i];
  }
}
static const char *SHA_IMPL = "portable";
#endif

/* ------------------------------------------------------------------------------------------ */
/* A pool of threads running fdatasync (files) or fsync (directories) over a list of fds */

typedef struct {
  const int *fds;
  const char *const *names;
  int count;
  int next;
  int datasync;
  pthread_mutex_t lock;
} syncjob_t;

static void *sync_worker(void *arg) {
  syncjob_t *job = arg;
  for (;;) {
    pthread_mutex_lock(&job->lock);
    int i = job->next++;
    pthread_mutex_unlock(&job->lock);
    if (i >= job->count) return NULL;
    if ((job->datasync ? fdatasync(job->fds[i]) : fsync(job->fds[i])) != 0) {
      die("sync", job->names[i]);
    }
  }
}

static void sync_all(const int *fds, const char *const *names, int count, int threads,
                     int datasync) {
  syncjob_t job = {fds, names, count, 0, datasync, PTHREAD_MUTEX_INITIALIZER};
  if (threads <= 1 || count <= 1) {
    sync_worker(&job);
    return;
  }
  pthread_t tids[256];
  int n = threads < count ? threads : count;
  if (n > 256) n = 256;
  for (int t = 0; t < n; t++) {
    if (pthread_create(&tids[t], NULL, sync_worker, &job) != 0) die("start a thread for", "");
  }
  for (int t = 0; t < n; t++) pthread_join(tids[t], NULL);
}

/* ------------------------------------------------------------------------------------------ */

static char *join(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  char *out = malloc(la + lb + 2);
  if (!out) die("allocate", "memory");
  memcpy(out, a, la);
  out[la] = '/';
  memcpy(out + la + 1, b, lb + 1);
  return out;
}

/* Directories created below the stage (relative), in creation order: parents first. */
static char **dirs;
static int ndirs;

static void ensure_dirs(const char *stage, const char *file) {
  char *rel = strdup(file);
  for (char *slash = strchr(rel, '/'); slash; slash = strchr(slash + 1, '/')) {
    *slash = '\0';
    int known = 0;
    for (int i = 0; i < ndirs && !known; i++) known = strcmp(dirs[i], rel) == 0;
    if (!known) {
      char *path = join(stage, rel);
      if (mkdir(path, 0755) != 0) die("create", path);
      free(path);
      dirs = realloc(dirs, sizeof *dirs * (ndirs + 1));
      dirs[ndirs++] = strdup(rel);
    }
    *slash = '/';
  }
  free(rel);
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--sha-impl") == 0) {
    printf("%s\n", SHA_IMPL);
    return 0;
  }
  if (argc < 6) {
    fprintf(stderr, "usage: floor <src> <stage> <final> <threads> <batch> <file>...\n");
    return 2;
  }
  const char *src = argv[1], *stage = argv[2], *final = argv[3];
  int threads = atoi(argv[4]), batch = atoi(argv[5]);
  char **files = argv + 6;
  int nfiles = argc - 6;
  int use_syncfs = threads == 0;
  if (threads < 1) threads = 1;
  if (batch <= 0) batch = nfiles > 0 ? nfiles : 1;

  if (mkdir(stage, 0755) != 0) die("create", stage);
  uint8_t *buffer = malloc(CHUNK);
  int *pending = malloc(sizeof(int) * batch);
  const char **pendingNames = malloc(sizeof(char *) * batch);
  if (!buffer || !pending || !pendingNames) die("allocate", "memory");
  int npending = 0;

  for (int f = 0; f < nfiles; f++) {
    ensure_dirs(stage, files[f]);
    char *from = join(src, files[f]);
    char *to = join(stage, files[f]);
    int in = open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0) die("open", from);
    struct stat st;
    if (fstat(in, &st) != 0) die("stat", from);
    if (!S_ISREG(st.st_mode)) {
      errno = EINVAL;
      die("copy a non-regular file", from);
    }
    int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
    if (out < 0) die("create", to);
    sha256_t sha;
    sha256_init(&sha);
    for (;;) {
      ssize_t n = read(in, buffer, CHUNK);
      if (n < 0) {
        if (errno == EINTR) continue;
        die("read", from);
      }
      if (n == 0) break;
      sha256_update(&sha, buffer, (size_t)n);
      for (ssize_t done = 0; done < n;) {
        ssize_t w = write(out, buffer + done, (size_t)(n - done));
        if (w < 0) {
          if (errno == EINTR) continue;
          die("write", to);
        }
        done += w;
      }
    }
    close(in);
    uint8_t digest[32];
    sha256_final(&sha, digest);
    for (int i = 0; i < 32; i++) printf("%02x", digest[i]);
    printf("  %s\n", files[f]);
    free(from);
    pending[npending] = out;
    pendingNames[npending++] = files[f];
    if (npending == batch || f == nfiles - 1) {
      if (!use_syncfs) sync_all(pending, pendingNames, npending, threads, 1);
      for (int i = 0; i < npending; i++) close(pending[i]);
      npending = 0;
    }
    free(to);
  }

  /* Every directory of the stage, deepest (latest created) first, then the stage itself. */
  int *dirFds = malloc(sizeof(int) * (ndirs + 1));
  const char **dirNames = malloc(sizeof(char *) * (ndirs + 1));
  for (int i = 0; i <= ndirs; i++) {
    const char *path = i < ndirs ? join(stage, dirs[ndirs - 1 - i]) : stage;
    dirFds[i] = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirFds[i] < 0) die("open", path);
    dirNames[i] = path;
  }
  if (use_syncfs) {
    if (syncfs(dirFds[ndirs]) != 0) die("syncfs", stage);
  } else {
    sync_all(dirFds, dirNames, ndirs + 1, threads, 0);
  }
  for (int i = 0; i <= ndirs; i++) close(dirFds[i]);

  if (rename(stage, final) != 0) die("rename", stage);
  char *parent = strdup(final);
  char *cut = strrchr(parent, '/');
  if (cut == parent) cut[1] = '\0';
  else if (cut) *cut = '\0';
  else strcpy(parent, ".");
  int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (pfd < 0 || fsync(pfd) != 0) die("sync", parent);
  close(pfd);
  if (fflush(stdout) != 0) die("write", "stdout");
  return 0;
}
