/*
 * SG_IO transport for /dev/sgN: any CDB through ioctl(SG_IO) with an sg_io_hdr,
 * the kernel's per-command timeout in milliseconds, and the raw status, host,
 * driver and sense bytes handed back unchanged. Interpreting them is left to
 * TypeScript (native/src/sg-transport.ts), where it is tested without hardware.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <scsi/sg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common.h"

#define MAX_SENSE 252

typedef enum { SG_OPEN, SG_EXEC, SG_CLOSE } sg_op;

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref out_ref;
  sg_op op;
  char path[4096];
  int fd;
  uint8_t cdb[16];
  int cdb_len;
  uint8_t *out;
  size_t out_len;
  uint8_t *in;
  size_t in_len;
  unsigned timeout_ms;
  sg_io_hdr_t hdr;
  uint8_t sense[MAX_SENSE];
  int failed;
  op_error error;
} sg_work;

static void sg_execute(napi_env env, void *data) {
  sg_work *w = data;
  if (w->op == SG_OPEN) {
    int fd = open(w->path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      op_error_errno(&w->error, errno, w->path);
      w->failed = 1;
      return;
    }
    int version = 0;
    if (ioctl(fd, SG_GET_VERSION_NUM, &version) < 0 || version < 30000) {
      op_error_set(&w->error, ENOTTY, "ENOTTY", "%s is not an sg device (SG_GET_VERSION_NUM failed)", w->path);
      close(fd);
      w->failed = 1;
      return;
    }
    w->fd = fd;
  } else if (w->op == SG_CLOSE) {
    if (close(w->fd) < 0) {
      op_error_errno(&w->error, errno, "close");
      w->failed = 1;
    }
  } else {
    if (w->in_len > 0 && (w->in = malloc(w->in_len)) == NULL) {
      op_error_set(&w->error, ENOMEM, "ENOMEM", "cannot allocate %zu bytes for data-in", w->in_len);
      w->failed = 1;
      return;
    }
    sg_io_hdr_t *h = &w->hdr;
    memset(h, 0, sizeof *h);
    h->interface_id = 'S';
    h->cmdp = w->cdb;
    h->cmd_len = (unsigned char)w->cdb_len;
    h->sbp = w->sense;
    h->mx_sb_len = MAX_SENSE;
    h->timeout = w->timeout_ms;
    if (w->in_len > 0) {
      h->dxfer_direction = SG_DXFER_FROM_DEV;
      h->dxferp = w->in;
      h->dxfer_len = (unsigned)w->in_len;
    } else if (w->out_len > 0) {
      h->dxfer_direction = SG_DXFER_TO_DEV;
      h->dxferp = w->out;
      h->dxfer_len = (unsigned)w->out_len;
    } else {
      h->dxfer_direction = SG_DXFER_NONE;
    }
    if (ioctl(w->fd, SG_IO, h) < 0) {
      op_error_errno(&w->error, errno, "ioctl(SG_IO)");
      w->failed = 1;
    }
  }
}

static void sg_complete(napi_env env, napi_status status, void *data) {
  sg_work *w = data;
  napi_value result;
  if (w->failed) {
    static const char *names[] = {"open", "ioctl", "close"};
    napi_reject_deferred(env, w->deferred, make_error(env, &w->error, names[w->op]));
  } else if (w->op == SG_OPEN) {
    napi_create_int32(env, w->fd, &result);
    napi_resolve_deferred(env, w->deferred, result);
  } else if (w->op == SG_CLOSE) {
    napi_get_undefined(env, &result);
    napi_resolve_deferred(env, w->deferred, result);
  } else {
    sg_io_hdr_t *h = &w->hdr;
    napi_value sense;
    void *sp;
    size_t got = w->in_len > 0 && (size_t)h->resid <= w->in_len ? w->in_len - (size_t)h->resid : 0;
    napi_create_object(env, &result);
    set_int_prop(env, result, "status", h->status);
    set_int_prop(env, result, "hostStatus", h->host_status);
    set_int_prop(env, result, "driverStatus", h->driver_status);
    set_int_prop(env, result, "resid", h->resid);
    set_int_prop(env, result, "duration", h->duration);
    set_int_prop(env, result, "info", h->info);
    napi_create_buffer_copy(env, h->sb_len_wr <= MAX_SENSE ? h->sb_len_wr : MAX_SENSE, w->sense, &sp, &sense);
    napi_set_named_property(env, result, "sense", sense);
    napi_set_named_property(env, result, "data", owned_buffer(env, w->in, got));
    w->in = NULL;
    napi_resolve_deferred(env, w->deferred, result);
  }
  free(w->in);
  if (w->out_ref) napi_delete_reference(env, w->out_ref);
  napi_delete_async_work(env, w->work);
  free(w);
}

static napi_value queue(napi_env env, sg_work *w) {
  napi_value promise, name;
  NAPI_OK_OR_NULL(env, napi_create_promise(env, &w->deferred, &promise));
  napi_create_string_utf8(env, "tapedup:sg", NAPI_AUTO_LENGTH, &name);
  NAPI_OK_OR_NULL(env, napi_create_async_work(env, NULL, name, sg_execute, sg_complete, w, &w->work));
  NAPI_OK_OR_NULL(env, napi_queue_async_work(env, w->work));
  return promise;
}

/* sgOpen(path) -> Promise<fd>. */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK_OR_NULL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  sg_work *w = calloc(1, sizeof *w);
  if (w == NULL) return NULL;
  if (!arg_string(env, argv[0], "path", w->path, sizeof w->path)) {
    free(w);
    return NULL;
  }
  w->op = SG_OPEN;
  return queue(env, w);
}

/* sgClose(fd) -> Promise<void>. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int64_t fd;
  NAPI_OK_OR_NULL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!arg_int(env, argv[0], "fd", 0, 1 << 30, &fd)) return NULL;
  sg_work *w = calloc(1, sizeof *w);
  if (w == NULL) return NULL;
  w->op = SG_CLOSE;
  w->fd = (int)fd;
  return queue(env, w);
}

/* sgExecute(fd, cdb, dataOut | null, dataInLength, timeoutMs) -> Promise<raw sg_io_hdr result>. */
static napi_value js_execute(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  uint8_t *cdb, *out = NULL;
  size_t cdb_len, out_len = 0;
  int64_t fd, in_len, timeout;
  NAPI_OK_OR_NULL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!arg_int(env, argv[0], "fd", 0, 1 << 30, &fd) || !arg_bytes(env, argv[1], "cdb", &cdb, &cdb_len)) return NULL;
  if (cdb_len < 6 || cdb_len > 16) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "cdb must be 6 to 16 bytes long");
    return NULL;
  }
  if (!arg_is_nullish(env, argv[2]) && !arg_bytes(env, argv[2], "dataOut", &out, &out_len)) return NULL;
  if (!arg_int(env, argv[3], "dataInLength", 0, 16 * 1024 * 1024, &in_len) ||
      !arg_int(env, argv[4], "timeoutMs", 1, 86400000, &timeout))
    return NULL;
  if (out_len > 0 && in_len > 0) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "a command carries dataOut or dataInLength, not both");
    return NULL;
  }
  sg_work *w = calloc(1, sizeof *w);
  if (w == NULL) return NULL;
  w->op = SG_EXEC;
  w->fd = (int)fd;
  memcpy(w->cdb, cdb, cdb_len);
  w->cdb_len = (int)cdb_len;
  w->out = out;
  w->out_len = out_len;
  w->in_len = (size_t)in_len;
  w->timeout_ms = (unsigned)timeout;
  if (out_len > 0) napi_create_reference(env, argv[2], 1, &w->out_ref);
  return queue(env, w);
}

napi_value init_sg(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"sgOpen", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"sgExecute", NULL, js_execute, NULL, NULL, NULL, napi_default, NULL},
      {"sgClose", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
