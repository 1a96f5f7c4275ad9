#define _GNU_SOURCE
#include "common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void op_error_set(op_error *e, int err, const char *code, const char *fmt, ...) {
  va_list ap;
  e->err = err;
  snprintf(e->code, sizeof e->code, "%s", code);
  va_start(ap, fmt);
  vsnprintf(e->message, sizeof e->message, fmt, ap);
  va_end(ap);
}

void op_error_errno(op_error *e, int err, const char *what) {
  op_error_set(e, err, errno_code(err), "%s: %s", what, strerror(err));
}

const char *errno_code(int err) {
  switch (err) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case ENXIO: return "ENXIO";
    case EBADF: return "EBADF";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case ENODEV: return "ENODEV";
    case ENOTDIR: return "ENOTDIR";
    case EINVAL: return "EINVAL";
    case ENOTTY: return "ENOTTY";
    case ENOSPC: return "ENOSPC";
    case EROFS: return "EROFS";
    case EAGAIN: return "EAGAIN";
    case ENOMEDIUM: return "ENOMEDIUM";
    case EOVERFLOW: return "EOVERFLOW";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ECONNRESET: return "ECONNRESET";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case ENETUNREACH: return "ENETUNREACH";
    case ENOTCONN: return "ENOTCONN";
    case EPIPE: return "EPIPE";
    case EMEDIUMTYPE: return "EMEDIUMTYPE";
    default: return "EUNKNOWN";
  }
}

napi_value make_error(napi_env env, const op_error *e, const char *syscall) {
  napi_value msg, code, err, errno_v, sys;
  if (napi_create_string_utf8(env, e->message, NAPI_AUTO_LENGTH, &msg) != napi_ok) return NULL;
  if (napi_create_string_utf8(env, e->code, NAPI_AUTO_LENGTH, &code) != napi_ok) return NULL;
  if (napi_create_error(env, code, msg, &err) != napi_ok) return NULL;
  if (e->err != 0 && napi_create_int32(env, e->err, &errno_v) == napi_ok) {
    napi_set_named_property(env, err, "errno", errno_v);
  }
  if (syscall != NULL && napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sys) == napi_ok) {
    napi_set_named_property(env, err, "syscall", sys);
  }
  return err;
}

int64_t monotonic_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void throw_type(napi_env env, const char *name, const char *what) {
  char buf[160];
  snprintf(buf, sizeof buf, "%s must be %s", name, what);
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", buf);
}

int arg_bytes(napi_env env, napi_value v, const char *name, uint8_t **data, size_t *len) {
  bool is_ta = false;
  napi_typedarray_type type;
  size_t length = 0, offset = 0;
  void *ptr = NULL;
  napi_value ab;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, v, &type, &length, &ptr, &ab, &offset) != napi_ok ||
      type != napi_uint8_array) {
    throw_type(env, name, "a Uint8Array");
    return 0;
  }
  *data = ptr;
  *len = length;
  return 1;
}

int arg_int(napi_env env, napi_value v, const char *name, int64_t min, int64_t max, int64_t *out) {
  napi_valuetype t;
  double d;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number || napi_get_value_double(env, v, &d) != napi_ok ||
      d != (double)(int64_t)d || d < (double)min || d > (double)max) {
    char what[96];
    snprintf(what, sizeof what, "an integer in [%lld, %lld]", (long long)min, (long long)max);
    throw_type(env, name, what);
    return 0;
  }
  *out = (int64_t)d;
  return 1;
}

int arg_string(napi_env env, napi_value v, const char *name, char *buf, size_t size) {
  napi_valuetype t;
  size_t len = 0;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string ||
      napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok || len + 1 > size) {
    throw_type(env, name, "a string of reasonable length");
    return 0;
  }
  napi_get_value_string_utf8(env, v, buf, size, &len);
  return 1;
}

int arg_is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return 0;
  return t == napi_null || t == napi_undefined;
}

napi_value set_int_prop(napi_env env, napi_value obj, const char *name, int64_t value) {
  napi_value v;
  if (napi_create_int64(env, value, &v) != napi_ok) return NULL;
  napi_set_named_property(env, obj, name, v);
  return v;
}

static void free_buffer(napi_env env, void *data, void *hint) { free(data); }

napi_value owned_buffer(napi_env env, uint8_t *data, size_t len) {
  napi_value buf;
  if (data == NULL || len == 0) {
    free(data);
    void *unused;
    if (napi_create_buffer(env, 0, &unused, &buf) != napi_ok) return NULL;
    return buf;
  }
  if (napi_create_external_buffer(env, len, data, free_buffer, NULL, &buf) != napi_ok) {
    free(data);
    return NULL;
  }
  return buf;
}
