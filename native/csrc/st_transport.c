/*
 * st driver transport for /dev/nstN: read(2)/write(2) of whole blocks, MTIOCTOP
 * (MTWEOFI immediate filemarks, MTWEOF synchronous ones, count 0 to flush,
 * spacing, rewind, load/unload), MTIOCPOS and MTIOCGET. Failures come back as
 * errno codes; mapping them to ScsiError lives in TypeScript (st-device.ts).
 * The st driver has no per-call timeout of its own beyond its internal ones;
 * the TypeScript side puts a deadline on every call.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/mtio.h> /* glibc's sys/mtio.h lacks MTWEOFI */
#include <unistd.h>

#include "common.h"

typedef enum { ST_OPEN, ST_CLOSE, ST_WRITE, ST_READ, ST_MTOP, ST_MTPOS, ST_MTGET } st_op;

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref out_ref;
  st_op op;
  char path[4096];
  int read_only;
  int fd;
  uint8_t *buf;
  size_t len;
  ssize_t done;
  int mt_op;
  int mt_count;
  struct mtget get;
  struct mtpos pos;
  int failed;
  op_error error;
} st_work;

static void st_execute(napi_env env, void *data) {
  st_work *w = data;
  int r = 0;
  const char *what = "";
  switch (w->op) {
    case ST_OPEN:
      w->fd = open(w->path, (w->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
      r = w->fd;
      what = w->path;
      break;
    case ST_CLOSE:
      r = close(w->fd);
      what = "close";
      break;
    case ST_WRITE:
      w->done = write(w->fd, w->buf, w->len);
      r = (int)(w->done < 0 ? -1 : 0);
      what = "write";
      break;
    case ST_READ:
      if ((w->buf = malloc(w->len)) == NULL) {
        op_error_set(&w->error, ENOMEM, "ENOMEM", "cannot allocate %zu bytes", w->len);
        w->failed = 1;
        return;
      }
      w->done = read(w->fd, w->buf, w->len);
      r = (int)(w->done < 0 ? -1 : 0);
      what = "read";
      break;
    case ST_MTOP: {
      struct mtop op = {.mt_op = (short)w->mt_op, .mt_count = w->mt_count};
      r = ioctl(w->fd, MTIOCTOP, &op);
      what = "ioctl(MTIOCTOP)";
      break;
    }
    case ST_MTPOS:
      r = ioctl(w->fd, MTIOCPOS, &w->pos);
      what = "ioctl(MTIOCPOS)";
      break;
    case ST_MTGET:
      r = ioctl(w->fd, MTIOCGET, &w->get);
      what = "ioctl(MTIOCGET)";
      break;
  }
  if (r < 0) {
    op_error_errno(&w->error, errno, what);
    w->failed = 1;
  }
}

static void st_complete(napi_env env, napi_status status, void *data) {
  st_work *w = data;
  napi_value result;
  if (w->failed) {
    static const char *names[] = {"open", "close", "write", "read", "ioctl", "ioctl", "ioctl"};
    napi_reject_deferred(env, w->deferred, make_error(env, &w->error, names[w->op]));
  } else {
    switch (w->op) {
      case ST_OPEN: napi_create_int32(env, w->fd, &result); break;
      case ST_WRITE: napi_create_int64(env, (int64_t)w->done, &result); break;
      case ST_READ:
        result = owned_buffer(env, w->buf, (size_t)w->done);
        w->buf = NULL;
        break;
      case ST_MTPOS: napi_create_int64(env, (int64_t)w->pos.mt_blkno, &result); break;
      case ST_MTGET:
        napi_create_object(env, &result);
        set_int_prop(env, result, "type", w->get.mt_type);
        set_int_prop(env, result, "resid", w->get.mt_resid);
        set_int_prop(env, result, "dsreg", w->get.mt_dsreg);
        /* Status bits live in the low 32 bits (GMT_* masks). */
        set_int_prop(env, result, "gstat", (int64_t)(w->get.mt_gstat & 0xffffffffL));
        set_int_prop(env, result, "erreg", w->get.mt_erreg);
        set_int_prop(env, result, "fileno", w->get.mt_fileno);
        set_int_prop(env, result, "blkno", w->get.mt_blkno);
        break;
      default: napi_get_undefined(env, &result); break;
    }
    napi_resolve_deferred(env, w->deferred, result);
  }
  if (w->op == ST_READ) free(w->buf);
  if (w->out_ref) napi_delete_reference(env, w->out_ref);
  napi_delete_async_work(env, w->work);
  free(w);
}

static napi_value queue(napi_env env, st_work *w) {
  napi_value promise, name;
  NAPI_OK_OR_NULL(env, napi_create_promise(env, &w->deferred, &promise));
  napi_create_string_utf8(env, "tapedup:st", NAPI_AUTO_LENGTH, &name);
  NAPI_OK_OR_NULL(env, napi_create_async_work(env, NULL, name, st_execute, st_complete, w, &w->work));
  NAPI_OK_OR_NULL(env, napi_queue_async_work(env, w->work));
  return promise;
}

/* Parses the fd argument and allocates the work item; NULL (with a pending exception) on bad input. */
static st_work *fd_work(napi_env env, napi_value fd_v, st_op op) {
  int64_t fd;
  if (!arg_int(env, fd_v, "fd", 0, 1 << 30, &fd)) return NULL;
  st_work *w = calloc(1, sizeof *w);
  if (w == NULL) return NULL;
  w->op = op;
  w->fd = (int)fd;
  return w;
}

#define ARGS(n)                                                                  \
  size_t argc = (n);                                                             \
  napi_value argv[(n) > 0 ? (n) : 1];                                            \
  NAPI_OK_OR_NULL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL))

/* stOpen(path, readOnly) -> Promise<fd>. */
static napi_value js_open(napi_env env, napi_callback_info info) {
  ARGS(2);
  bool ro = false;
  st_work *w = calloc(1, sizeof *w);
  if (w == NULL) return NULL;
  if (!arg_string(env, argv[0], "path", w->path, sizeof w->path)) {
    free(w);
    return NULL;
  }
  napi_get_value_bool(env, argv[1], &ro);
  w->op = ST_OPEN;
  w->read_only = ro;
  return queue(env, w);
}

/* stClose(fd) -> Promise<void>. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  ARGS(1);
  st_work *w = fd_work(env, argv[0], ST_CLOSE);
  return w == NULL ? NULL : queue(env, w);
}

/* stWrite(fd, block) -> Promise<bytes written>. One write(2) is one tape block in variable mode. */
static napi_value js_write(napi_env env, napi_callback_info info) {
  ARGS(2);
  uint8_t *data;
  size_t len;
  if (!arg_bytes(env, argv[1], "block", &data, &len)) return NULL;
  st_work *w = fd_work(env, argv[0], ST_WRITE);
  if (w == NULL) return NULL;
  w->buf = data;
  w->len = len;
  napi_create_reference(env, argv[1], 1, &w->out_ref);
  return queue(env, w);
}

/* stRead(fd, maxLength) -> Promise<Buffer>; an empty Buffer means a filemark or end of data. */
static napi_value js_read(napi_env env, napi_callback_info info) {
  ARGS(2);
  int64_t len;
  if (!arg_int(env, argv[1], "maxLength", 1, 16 * 1024 * 1024, &len)) return NULL;
  st_work *w = fd_work(env, argv[0], ST_READ);
  if (w == NULL) return NULL;
  w->len = (size_t)len;
  return queue(env, w);
}

/* stMtop(fd, op, count) -> Promise<void>. */
static napi_value js_mtop(napi_env env, napi_callback_info info) {
  ARGS(3);
  int64_t op, count;
  if (!arg_int(env, argv[1], "op", 0, 255, &op) || !arg_int(env, argv[2], "count", -2147483647, 2147483647, &count))
    return NULL;
  st_work *w = fd_work(env, argv[0], ST_MTOP);
  if (w == NULL) return NULL;
  w->mt_op = (int)op;
  w->mt_count = (int)count;
  return queue(env, w);
}

/* stMtpos(fd) -> Promise<block number>. */
static napi_value js_mtpos(napi_env env, napi_callback_info info) {
  ARGS(1);
  st_work *w = fd_work(env, argv[0], ST_MTPOS);
  return w == NULL ? NULL : queue(env, w);
}

/* stMtget(fd) -> Promise<{type, resid, dsreg, gstat, erreg, fileno, blkno}>. */
static napi_value js_mtget(napi_env env, napi_callback_info info) {
  ARGS(1);
  st_work *w = fd_work(env, argv[0], ST_MTGET);
  return w == NULL ? NULL : queue(env, w);
}

napi_value init_st(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"stOpen", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"stClose", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"stWrite", NULL, js_write, NULL, NULL, NULL, napi_default, NULL},
      {"stRead", NULL, js_read, NULL, NULL, NULL, napi_default, NULL},
      {"stMtop", NULL, js_mtop, NULL, NULL, NULL, napi_default, NULL},
      {"stMtpos", NULL, js_mtpos, NULL, NULL, NULL, napi_default, NULL},
      {"stMtget", NULL, js_mtget, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  /* The MTIOCTOP operation numbers, taken from the kernel headers rather than repeated in TypeScript. */
  napi_value c;
  napi_create_object(env, &c);
  set_int_prop(env, c, "MTFSF", MTFSF);
  set_int_prop(env, c, "MTBSF", MTBSF);
  set_int_prop(env, c, "MTFSR", MTFSR);
  set_int_prop(env, c, "MTBSR", MTBSR);
  set_int_prop(env, c, "MTWEOF", MTWEOF);
  set_int_prop(env, c, "MTWEOFI", MTWEOFI);
  set_int_prop(env, c, "MTREW", MTREW);
  set_int_prop(env, c, "MTOFFL", MTOFFL);
  set_int_prop(env, c, "MTEOM", MTEOM);
  set_int_prop(env, c, "MTSETBLK", MTSETBLK);
  set_int_prop(env, c, "MTSEEK", MTSEEK);
  set_int_prop(env, c, "MTLOAD", MTLOAD);
  set_int_prop(env, c, "MTUNLOAD", MTUNLOAD);
  napi_set_named_property(env, exports, "stConstants", c);
  return exports;
}
