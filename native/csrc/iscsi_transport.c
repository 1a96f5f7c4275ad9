/*
 * libiscsi transport: one iSCSI session (portal, target IQN, LUN) per handle.
 *
 * libiscsi's own *_sync calls block without a deadline, so every operation here
 * uses the async API and drives the session with poll() and a deadline on a
 * worker thread. When the deadline passes, the task is cancelled and the session
 * is dropped: a tape command that timed out leaves the drive in an unknown state,
 * and dropping the session makes the target abort it. libiscsi's automatic
 * reconnect is switched off so that a lost connection fails the command with
 * ECONNRESET instead of silently replaying it; reconnecting is the caller's
 * decision (iscsiConnect again).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common.h"

#define MAX_SENSE 252

typedef struct {
  struct iscsi_context *ctx;
  char portal[300];
  char target[256];
  char initiator[256];
  int lun;
  int busy;
} iscsi_handle;

typedef enum { OP_CONNECT, OP_EXECUTE, OP_DISCONNECT } iscsi_op;

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref handle_ref;
  napi_ref out_ref;
  iscsi_handle *h;
  iscsi_op op;
  int timeout_ms;
  uint8_t cdb[16];
  int cdb_len;
  uint8_t *out;
  size_t out_len;
  uint8_t *in;
  size_t in_len;
  size_t in_got;
  int status;
  uint8_t sense[MAX_SENSE];
  size_t sense_len;
  size_t residual;
  int failed;
  op_error error;
} iscsi_work;

typedef struct {
  volatile int done;
  int status;
} cb_state;

static void drop_session(iscsi_handle *h) {
  if (h->ctx != NULL) {
    iscsi_destroy_context(h->ctx);
    h->ctx = NULL;
  }
}

/* Maps libiscsi's error text to an errno-like code; libiscsi reports connect errors only as text. */
static const char *classify(const char *text) {
  if (text == NULL) return "EIO";
  if (strcasestr(text, "refused")) return "ECONNREFUSED";
  if (strcasestr(text, "timed out")) return "ETIMEDOUT";
  if (strcasestr(text, "unreachable")) return "EHOSTUNREACH";
  if (strcasestr(text, "log in") || strcasestr(text, "login") || strcasestr(text, "not found"))
    return "ELOGIN";
  if (strcasestr(text, "reset") || strcasestr(text, "POLLHUP") || strcasestr(text, "socket") ||
      strcasestr(text, "reconnect"))
    return "ECONNRESET";
  return "EIO";
}

/* Drives the session until *done or the deadline; returns 0 when done, -1 with `e` set otherwise. */
static int run_until(iscsi_handle *h, volatile int *done, int64_t deadline, op_error *e, int connecting) {
  while (!*done) {
    int fd = iscsi_get_fd(h->ctx);
    if (fd < 0) {
      op_error_set(e, ECONNRESET, "ECONNRESET", "iSCSI connection to %s lost", h->portal);
      return -1;
    }
    int64_t now = monotonic_ms();
    if (now >= deadline) {
      op_error_set(e, ETIMEDOUT, "ETIMEDOUT", "iSCSI operation on %s did not finish in time", h->portal);
      return -1;
    }
    struct pollfd pfd = {.fd = fd, .events = (short)iscsi_which_events(h->ctx), .revents = 0};
    int64_t wait = deadline - now;
    /* Wake up regularly: libiscsi may replace the socket (fd) underneath us. */
    if (wait > 200) wait = 200;
    int r = poll(&pfd, 1, (int)wait);
    if (r < 0) {
      if (errno == EINTR) continue;
      op_error_errno(e, errno, "poll");
      return -1;
    }
    if (connecting && (pfd.revents & (POLLOUT | POLLERR | POLLHUP))) {
      /* Read the TCP connect result ourselves: libiscsi replaces its text with a reconnect message. */
      int soerr = 0;
      socklen_t len = sizeof soerr;
      if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr != 0) {
        op_error_set(e, soerr, errno_code(soerr), "cannot connect to %s: %s", h->portal, strerror(soerr));
        return -1;
      }
    }
    if (iscsi_service(h->ctx, r == 0 ? 0 : pfd.revents) < 0) {
      const char *text = iscsi_get_error(h->ctx);
      op_error_set(e, ECONNRESET, "ECONNRESET", "iSCSI connection to %s lost: %s", h->portal,
                   text ? text : "socket error");
      return -1;
    }
  }
  return 0;
}

static void state_cb(struct iscsi_context *iscsi, int status, void *command_data, void *private_data) {
  cb_state *st = private_data;
  st->status = status;
  st->done = 1;
}

static void do_connect(iscsi_work *w) {
  iscsi_handle *h = w->h;
  drop_session(h);
  h->ctx = iscsi_create_context(h->initiator);
  if (h->ctx == NULL) {
    op_error_set(&w->error, ENOMEM, "ENOMEM", "cannot create an iSCSI context");
    w->failed = 1;
    return;
  }
  iscsi_set_targetname(h->ctx, h->target);
  iscsi_set_session_type(h->ctx, ISCSI_SESSION_NORMAL);
  iscsi_set_header_digest(h->ctx, ISCSI_HEADER_DIGEST_NONE_CRC32C);
  iscsi_set_noautoreconnect(h->ctx, 1);
  cb_state st = {0, 0};
  int64_t deadline = monotonic_ms() + w->timeout_ms;
  if (iscsi_full_connect_async(h->ctx, h->portal, h->lun, state_cb, &st) != 0) {
    const char *text = iscsi_get_error(h->ctx);
    op_error_set(&w->error, 0, classify(text), "cannot connect to %s: %s", h->portal, text ? text : "");
    w->failed = 1;
    drop_session(h);
    return;
  }
  if (run_until(h, &st.done, deadline, &w->error, 1) != 0) {
    if (strcmp(w->error.code, "ECONNRESET") == 0) {
      /* During login, a dropped socket is most often a refused or reset TCP connect. */
      const char *text = iscsi_get_error(h->ctx);
      op_error_set(&w->error, 0, classify(text), "cannot connect to %s (%s, lun %d): %s", h->portal,
                   h->target, h->lun, text ? text : "connection lost");
    }
    w->failed = 1;
    drop_session(h);
    return;
  }
  if (st.status != SCSI_STATUS_GOOD) {
    const char *text = iscsi_get_error(h->ctx);
    op_error_set(&w->error, 0, classify(text), "cannot log in to %s at %s, lun %d: %s", h->target, h->portal,
                 h->lun, text ? text : "login failed");
    w->failed = 1;
    drop_session(h);
  }
}

static void do_execute(iscsi_work *w) {
  iscsi_handle *h = w->h;
  if (h->ctx == NULL || !iscsi_is_logged_in(h->ctx)) {
    op_error_set(&w->error, ENOTCONN, "ENOTCONN", "iSCSI session to %s is not connected", h->portal);
    w->failed = 1;
    return;
  }
  int dir = w->in_len > 0 ? SCSI_XFER_READ : (w->out_len > 0 ? SCSI_XFER_WRITE : SCSI_XFER_NONE);
  int expxfer = (int)(w->in_len > 0 ? w->in_len : w->out_len);
  struct scsi_task *task = scsi_create_task(w->cdb_len, w->cdb, dir, expxfer);
  if (task == NULL) {
    op_error_set(&w->error, ENOMEM, "ENOMEM", "cannot allocate an iSCSI task");
    w->failed = 1;
    return;
  }
  struct scsi_iovec iov;
  if (w->in_len > 0) {
    w->in = calloc(1, w->in_len);
    if (w->in == NULL) {
      scsi_free_scsi_task(task);
      op_error_set(&w->error, ENOMEM, "ENOMEM", "cannot allocate %zu bytes for data-in", w->in_len);
      w->failed = 1;
      return;
    }
    /* Data-In lands straight in our buffer; task->datain then only ever holds sense data. */
    iov.iov_base = w->in;
    iov.iov_len = w->in_len;
    scsi_task_set_iov_in(task, &iov, 1);
  }
  struct iscsi_data out = {.size = w->out_len, .data = w->out};
  cb_state st = {0, 0};
  int64_t deadline = monotonic_ms() + w->timeout_ms;
  if (iscsi_scsi_command_async(h->ctx, h->lun, task, state_cb, w->out_len > 0 ? &out : NULL, &st) != 0) {
    const char *text = iscsi_get_error(h->ctx);
    op_error_set(&w->error, ECONNRESET, "ECONNRESET", "cannot queue the command on %s: %s", h->portal,
                 text ? text : "");
    w->failed = 1;
    scsi_free_scsi_task(task);
    drop_session(h);
    return;
  }
  if (run_until(h, &st.done, deadline, &w->error, 0) != 0) {
    if (!st.done) iscsi_scsi_cancel_task(h->ctx, task);
    w->failed = 1;
    drop_session(h);
    scsi_free_scsi_task(task);
    return;
  }
  if (st.status == SCSI_STATUS_CANCELLED || st.status == SCSI_STATUS_ERROR || st.status == SCSI_STATUS_TIMEOUT) {
    const char *text = iscsi_get_error(h->ctx);
    op_error_set(&w->error, ECONNRESET, "ECONNRESET", "iSCSI command on %s failed in transport: %s", h->portal,
                 text ? text : "connection lost");
    w->failed = 1;
    drop_session(h);
    scsi_free_scsi_task(task);
    return;
  }
  w->status = st.status;
  w->residual = task->residual_status == SCSI_RESIDUAL_UNDERFLOW ? task->residual : 0;
  /* The whole buffer goes back: targets disagree on how they count the residual of a READ that
     ends in CHECK CONDITION, so the caller derives the length from the sense INFORMATION field. */
  w->in_got = w->in_len;
  if (st.status == SCSI_STATUS_CHECK_CONDITION && task->datain.data != NULL && task->datain.size >= 2) {
    /* iSCSI sense data: a 2-byte SenseLength followed by the sense bytes. */
    size_t declared = ((size_t)task->datain.data[0] << 8) | task->datain.data[1];
    size_t avail = (size_t)task->datain.size - 2;
    size_t n = declared < avail ? declared : avail;
    if (n > MAX_SENSE) n = MAX_SENSE;
    memcpy(w->sense, task->datain.data + 2, n);
    w->sense_len = n;
  }
  scsi_free_scsi_task(task);
}

static void do_disconnect(iscsi_work *w) {
  iscsi_handle *h = w->h;
  if (h->ctx != NULL && iscsi_is_logged_in(h->ctx)) {
    cb_state st = {0, 0};
    if (iscsi_logout_async(h->ctx, state_cb, &st) == 0) {
      op_error ignored;
      /* A polite logout; a target that does not answer quickly is simply dropped. */
      run_until(h, &st.done, monotonic_ms() + (w->timeout_ms < 2000 ? w->timeout_ms : 2000), &ignored, 0);
    }
  }
  drop_session(h);
}

static void execute_cb(napi_env env, void *data) {
  iscsi_work *w = data;
  switch (w->op) {
    case OP_CONNECT: do_connect(w); break;
    case OP_EXECUTE: do_execute(w); break;
    case OP_DISCONNECT: do_disconnect(w); break;
  }
}

static void complete_cb(napi_env env, napi_status status, void *data) {
  iscsi_work *w = data;
  w->h->busy = 0;
  napi_value result = NULL;
  if (w->failed) {
    static const char *names[] = {"iscsi_connect", "iscsi_command", "iscsi_logout"};
    napi_reject_deferred(env, w->deferred, make_error(env, &w->error, names[w->op]));
  } else if (w->op == OP_EXECUTE) {
    napi_create_object(env, &result);
    set_int_prop(env, result, "status", w->status);
    set_int_prop(env, result, "residual", (int64_t)w->residual);
    napi_value sense, in;
    void *sp;
    napi_create_buffer_copy(env, w->sense_len, w->sense, &sp, &sense);
    napi_set_named_property(env, result, "sense", sense);
    in = owned_buffer(env, w->in, w->in_got);
    w->in = NULL;
    napi_set_named_property(env, result, "data", in);
    napi_resolve_deferred(env, w->deferred, result);
  } else {
    napi_get_undefined(env, &result);
    napi_resolve_deferred(env, w->deferred, result);
  }
  free(w->in);
  if (w->out_ref) napi_delete_reference(env, w->out_ref);
  napi_delete_reference(env, w->handle_ref);
  napi_delete_async_work(env, w->work);
  free(w);
}

static void finalize_handle(napi_env env, void *data, void *hint) {
  iscsi_handle *h = data;
  drop_session(h);
  free(h);
}

static iscsi_handle *get_handle(napi_env env, napi_value v) {
  napi_valuetype t;
  void *p = NULL;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_get_value_external(env, v, &p) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "handle must be an iSCSI handle from iscsiCreate");
    return NULL;
  }
  return p;
}

/* Starts async work on a handle; at most one operation per handle runs at a time. */
static napi_value start(napi_env env, napi_value handle_v, iscsi_work *w) {
  napi_value promise, name;
  NAPI_OK_OR_NULL(env, napi_create_promise(env, &w->deferred, &promise));
  if (w->h->busy) {
    op_error e;
    op_error_set(&e, EBUSY, "EBUSY", "another operation is in progress on this iSCSI session");
    napi_reject_deferred(env, w->deferred, make_error(env, &e, NULL));
    if (w->out_ref) napi_delete_reference(env, w->out_ref);
    free(w);
    return promise;
  }
  w->h->busy = 1;
  napi_create_reference(env, handle_v, 1, &w->handle_ref);
  napi_create_string_utf8(env, "tapedup:iscsi", NAPI_AUTO_LENGTH, &name);
  NAPI_OK_OR_NULL(env, napi_create_async_work(env, NULL, name, execute_cb, complete_cb, w, &w->work));
  NAPI_OK_OR_NULL(env, napi_queue_async_work(env, w->work));
  return promise;
}

/* iscsiCreate(portal, targetIqn, initiatorIqn, lun) -> handle (no I/O). */
static napi_value js_create(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], ext;
  NAPI_OK_OR_NULL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  iscsi_handle *h = calloc(1, sizeof *h);
  int64_t lun;
  if (h == NULL) return NULL;
  if (!arg_string(env, argv[0], "portal", h->portal, sizeof h->portal) ||
      !arg_string(env, argv[1], "targetIqn", h->target, sizeof h->target) ||
      !arg_string(env, argv[2], "initiatorIqn", h->initiator, sizeof h->initiator) ||
      !arg_int(env, argv[3], "lun", 0, 16383, &lun)) {
    free(h);
    return NULL;
  }
  h->lun = (int)lun;
  if (napi_create_external(env, h, finalize_handle, NULL, &ext) != napi_ok) {
    free(h);
    return NULL;
  }
  return ext;
}

static iscsi_work *new_work(napi_env env, napi_value handle_v, iscsi_op op, napi_value timeout_v) {
  iscsi_handle *h = get_handle(env, handle_v);
  int64_t timeout;
  if (h == NULL || !arg_int(env, timeout_v, "timeoutMs", 1, 86400000, &timeout)) return NULL;
  iscsi_work *w = calloc(1, sizeof *w);
  if (w == NULL) return NULL;
  w->h = h;
  w->op = op;
  w->timeout_ms = (int)timeout;
  return w;
}

/* iscsiConnect(handle, timeoutMs) -> Promise<void>; drops any previous session first. */
static napi_value js_connect(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_OK_OR_NULL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  iscsi_work *w = new_work(env, argv[0], OP_CONNECT, argv[1]);
  return w == NULL ? NULL : start(env, argv[0], w);
}

/* iscsiDisconnect(handle, timeoutMs) -> Promise<void>. */
static napi_value js_disconnect(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_OK_OR_NULL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  iscsi_work *w = new_work(env, argv[0], OP_DISCONNECT, argv[1]);
  return w == NULL ? NULL : start(env, argv[0], w);
}

/* iscsiExecute(handle, cdb, dataOut | null, dataInLength, timeoutMs) -> Promise<{status, sense, data, residual}>. */
static napi_value js_execute(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  NAPI_OK_OR_NULL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint8_t *cdb, *out = NULL;
  size_t cdb_len, out_len = 0;
  int64_t in_len;
  if (!arg_bytes(env, argv[1], "cdb", &cdb, &cdb_len)) return NULL;
  if (cdb_len < 6 || cdb_len > 16) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "cdb must be 6 to 16 bytes long");
    return NULL;
  }
  if (!arg_is_nullish(env, argv[2]) && !arg_bytes(env, argv[2], "dataOut", &out, &out_len)) return NULL;
  if (!arg_int(env, argv[3], "dataInLength", 0, 16 * 1024 * 1024, &in_len)) return NULL;
  if (out_len > 0 && in_len > 0) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "a command carries dataOut or dataInLength, not both");
    return NULL;
  }
  iscsi_work *w = new_work(env, argv[0], OP_EXECUTE, argv[4]);
  if (w == NULL) return NULL;
  memcpy(w->cdb, cdb, cdb_len);
  w->cdb_len = (int)cdb_len;
  w->out = out;
  w->out_len = out_len;
  w->in_len = (size_t)in_len;
  /* Keep the caller's buffer alive (no copy) until the command completes. */
  if (out_len > 0) napi_create_reference(env, argv[2], 1, &w->out_ref);
  return start(env, argv[0], w);
}

napi_value init_iscsi(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"iscsiCreate", NULL, js_create, NULL, NULL, NULL, napi_default, NULL},
      {"iscsiConnect", NULL, js_connect, NULL, NULL, NULL, napi_default, NULL},
      {"iscsiExecute", NULL, js_execute, NULL, NULL, NULL, napi_default, NULL},
      {"iscsiDisconnect", NULL, js_disconnect, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
