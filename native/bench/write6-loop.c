/*
 * Baseline for the iSCSI write path: WRITE(6) of fixed-size variable blocks in a plain C loop
 * over libiscsi's synchronous API, one command in flight, as the TypeScript device issues them.
 * usage: write6-loop <portal> <target-iqn> <lun> <block-bytes> <blocks>
 * prints: <bytes> <seconds> <MB/s>
 */
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int run(struct iscsi_context *c, int lun, unsigned char *cdb, unsigned char *buf, int len) {
  struct scsi_task *t = scsi_create_task(6, cdb, len > 0 ? SCSI_XFER_WRITE : SCSI_XFER_NONE, len);
  struct iscsi_data d = {.size = (size_t)len, .data = buf};
  struct scsi_task *r = iscsi_scsi_command_sync(c, lun, t, len > 0 ? &d : NULL);
  int ok = r != NULL && r->status == SCSI_STATUS_GOOD;
  scsi_free_scsi_task(t);
  return ok;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s <portal> <target-iqn> <lun> <block-bytes> <blocks>\n", argv[0]);
    return 2;
  }
  int lun = atoi(argv[3]), len = atoi(argv[4]), n = atoi(argv[5]);
  struct iscsi_context *c = iscsi_create_context("iqn.2024-01.io.tapedup:bench-c");
  iscsi_set_targetname(c, argv[2]);
  iscsi_set_session_type(c, ISCSI_SESSION_NORMAL);
  iscsi_set_header_digest(c, ISCSI_HEADER_DIGEST_NONE_CRC32C);
  if (iscsi_full_connect_sync(c, argv[1], lun) != 0) {
    fprintf(stderr, "connect: %s\n", iscsi_get_error(c));
    return 1;
  }
  unsigned char *buf = malloc((size_t)len);
  for (int i = 0; i < len; i++) buf[i] = (unsigned char)(i * 7);
  unsigned char rewind[6] = {0x01, 0, 0, 0, 0, 0};
  unsigned char w6[6] = {0x0a, 0, (unsigned char)(len >> 16), (unsigned char)(len >> 8), (unsigned char)len, 0};
  unsigned char wfm[6] = {0x10, 0, 0, 0, 0, 0};
  run(c, lun, rewind, NULL, 0);
  double t0 = now();
  for (int i = 0; i < n; i++) {
    if (!run(c, lun, w6, buf, len)) {
      fprintf(stderr, "write %d failed: %s\n", i, iscsi_get_error(c));
      return 1;
    }
  }
  run(c, lun, wfm, NULL, 0);
  double dt = now() - t0;
  printf("%lld %.3f %.1f\n", (long long)len * n, dt, (double)len * n / dt / 1e6);
  iscsi_logout_sync(c);
  iscsi_destroy_context(c);
  free(buf);
  return 0;
}
