/*
 * Entry point of the tapedup native addon. Three transports, each in its own
 * file: libiscsi (iscsi_transport.c), SG_IO (sg_transport.c) and the st driver
 * (st_transport.c). Every blocking call runs as napi async work on the libuv
 * thread pool and settles a promise, so the event loop never waits on a device.
 */
#include "common.h"

static napi_value init(napi_env env, napi_value exports) {
  if (init_iscsi(env, exports) == NULL) return NULL;
  if (init_sg(env, exports) == NULL) return NULL;
  if (init_st(env, exports) == NULL) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
