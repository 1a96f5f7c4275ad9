{
  "targets": [
    {
      "target_name": "tapedup_native",
      "sources": [
        "csrc/addon.c",
        "csrc/common.c",
        "csrc/iscsi_transport.c",
        "csrc/sg_transport.c",
        "csrc/st_transport.c"
      ],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"],
      "libraries": ["-liscsi"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
