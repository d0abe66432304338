{
  "targets": [
    {
      "target_name": "kvcpu_native",
      "sources": ["native/kvcpu.c"],
      "cflags": ["-Wall", "-O2"]
    }
  ]
}
