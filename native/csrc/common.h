/*
 * Shared helpers for the tapedup native addon: argument parsing, errors that
 * carry an errno-style `code`, and monotonic time for command deadlines.
 */
#ifndef TAPEDUP_COMMON_H
#define TAPEDUP_COMMON_H

#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

/* A failure captured on a worker thread and turned into a JS Error on the main thread. */
typedef struct {
  int err;            /* errno value, 0 when none */
  char code[32];      /* errno-like name: EIO, ETIMEDOUT, ECONNRESET, ELOGIN, ... */
  char message[320];  /* human-readable detail */
} op_error;

void op_error_set(op_error *e, int err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void op_error_errno(op_error *e, int err, const char *what);
const char *errno_code(int err);

/* Builds `new Error(message)` with `.code`, `.errno` (when known) and `.syscall`. */
napi_value make_error(napi_env env, const op_error *e, const char *syscall);

int64_t monotonic_ms(void);

/* Argument helpers: they throw a TypeError naming the argument and return 0 on failure. */
int arg_bytes(napi_env env, napi_value v, const char *name, uint8_t **data, size_t *len);
int arg_int(napi_env env, napi_value v, const char *name, int64_t min, int64_t max, int64_t *out);
int arg_string(napi_env env, napi_value v, const char *name, char *buf, size_t size);
int arg_is_nullish(napi_env env, napi_value v);

napi_value set_int_prop(napi_env env, napi_value obj, const char *name, int64_t value);
/* Returns a Buffer that owns `data` (malloc'd) and frees it when collected; `data` may be NULL when len is 0. */
napi_value owned_buffer(napi_env env, uint8_t *data, size_t len);

#define NAPI_OK_OR_NULL(env, call)                                        \
  do {                                                                    \
    if ((call) != napi_ok) {                                              \
      napi_throw_error((env), "EINTERNAL", "N-API call failed: " #call); \
      return NULL;                                                        \
    }                                                                     \
  } while (0)

napi_value init_iscsi(napi_env env, napi_value exports);
napi_value init_sg(napi_env env, napi_value exports);
napi_value init_st(napi_env env, napi_value exports);

#endif
