// kvcpu's native edge: the two things Node cannot do by itself.
//  - sched_getaffinity / sched_setaffinity on any thread id (taskset(1) does the same, but costs
//    ~1.5-5 ms per spawn against ~4 us here; kvcpu pins many threads all-or-nothing).
//  - KVM_GET_API_VERSION / KVM_CREATE_VM on /dev/kvm: the only proof that KVM really works
//    (the vmx/svm cpuinfo flag is absent under nested PVM, where /dev/kvm still works).
// Only node_api.h is used (no node-addon-api), so it builds with npm's bundled node-gyp.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <node_api.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

// Large enough for any real host; CPU_ALLOC avoids the fixed 1024-CPU cpu_set_t.
#define KVCPU_MAX_CPUS 8192

static napi_value throw_errno(napi_env env, int err, const char *what) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  const char *code = err == ESRCH ? "ESRCH" : err == EINVAL ? "EINVAL" : err == EPERM ? "EPERM" : "EIO";
  napi_throw_error(env, code, msg);
  return NULL;
}

static napi_value affinity_get(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t tid = 0;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &tid) != napi_ok) {
    napi_throw_type_error(env, "EINVAL", "affinityGet(tid): tid must be an integer");
    return NULL;
  }
  cpu_set_t *set = CPU_ALLOC(KVCPU_MAX_CPUS);
  size_t size = CPU_ALLOC_SIZE(KVCPU_MAX_CPUS);
  CPU_ZERO_S(size, set);
  if (sched_getaffinity(tid, size, set) != 0) {
    int err = errno;
    CPU_FREE(set);
    return throw_errno(env, err, "sched_getaffinity");
  }
  napi_value arr;
  napi_create_array(env, &arr);
  uint32_t n = 0;
  // Word by word: the agent asks for every QEMU thread each second, and testing 8192 bits one
  // by one was most of the call; zero words (CPUs the host does not have) are skipped at once.
  const unsigned long *words = (const unsigned long *)set;
  const int bits = 8 * (int)sizeof(unsigned long);
  for (size_t w = 0; w < size / sizeof(unsigned long); w++) {
    if (words[w] == 0) continue;
    for (int b = 0; b < bits; b++) {
      int cpu = (int)w * bits + b;
      if (CPU_ISSET_S(cpu, size, set)) {
        napi_value v;
        napi_create_int32(env, cpu, &v);
        napi_set_element(env, arr, n++, v);
      }
    }
  }
  CPU_FREE(set);
  return arr;
}

static napi_value affinity_set(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t tid = 0;
  bool is_array = false;
  if (argc < 2 || napi_get_value_int32(env, argv[0], &tid) != napi_ok ||
      napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array) {
    napi_throw_type_error(env, "EINVAL", "affinitySet(tid, cpus): tid integer, cpus array");
    return NULL;
  }
  uint32_t len = 0;
  napi_get_array_length(env, argv[1], &len);
  cpu_set_t *set = CPU_ALLOC(KVCPU_MAX_CPUS);
  size_t size = CPU_ALLOC_SIZE(KVCPU_MAX_CPUS);
  CPU_ZERO_S(size, set);
  for (uint32_t i = 0; i < len; i++) {
    napi_value v;
    int32_t cpu = -1;
    napi_get_element(env, argv[1], i, &v);
    if (napi_get_value_int32(env, v, &cpu) != napi_ok || cpu < 0 || cpu >= KVCPU_MAX_CPUS) {
      CPU_FREE(set);
      napi_throw_range_error(env, "EINVAL", "affinitySet: CPU number out of range");
      return NULL;
    }
    CPU_SET_S(cpu, size, set);
  }
  if (sched_setaffinity(tid, size, set) != 0) {
    int err = errno;
    CPU_FREE(set);
    return throw_errno(env, err, "sched_setaffinity");
  }
  CPU_FREE(set);
  return NULL;
}

static void set_int(napi_env env, napi_value obj, const char *key, int value) {
  napi_value v;
  napi_create_int32(env, value, &v);
  napi_set_named_property(env, obj, key, v);
}

static void set_str(napi_env env, napi_value obj, const char *key, const char *value) {
  napi_value v;
  napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, key, v);
}

// Opens the KVM device named by the first argument (default /dev/kvm) read-write, as QEMU's
// kvm_init() does, and records openErrno (0 on success) and openError on out; -1 when it failed.
static int open_kvm_arg(napi_env env, napi_callback_info info, napi_value out) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char path[4096] = "/dev/kvm";
  if (argc >= 1) {
    size_t got = 0;
    napi_get_value_string_utf8(env, argv[0], path, sizeof path, &got);
  }
  int fd = open(path, O_RDWR | O_CLOEXEC);
  int err = fd < 0 ? errno : 0;
  set_int(env, out, "openErrno", err);
  if (fd < 0) set_str(env, out, "openError", strerror(err));
  return fd;
}

// kvmProbe(path) -> { opened, openErrno, apiVersion, vmCreated, createErrno, nrVcpus, maxVcpus }
// Mirrors what QEMU's kvm_init() does first (kvm-all.c): open, check API version 12, create a VM.
static napi_value kvm_probe(napi_env env, napi_callback_info info) {
  napi_value out;
  napi_create_object(env, &out);
  int fd = open_kvm_arg(env, info, out);
  if (fd < 0) return out;
  int api = ioctl(fd, KVM_GET_API_VERSION, 0);
  set_int(env, out, "apiVersion", api);
  set_int(env, out, "nrVcpus", ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS));
  set_int(env, out, "maxVcpus", ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS));
#ifdef KVM_CAP_MAX_VCPU_ID
  set_int(env, out, "maxVcpuId", ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPU_ID));
#endif
  int vm = ioctl(fd, KVM_CREATE_VM, 0);
  if (vm < 0) {
    int err = errno;
    set_int(env, out, "createErrno", err);
    set_str(env, out, "createError", strerror(err));
  } else {
    set_int(env, out, "createErrno", 0);
    // A VM with one vCPU proves the vCPU path too (KVM_CREATE_VCPU, as QEMU does per vCPU).
    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0) {
      int err = errno;
      set_int(env, out, "vcpuErrno", err);
      set_str(env, out, "vcpuError", strerror(err));
    } else {
      set_int(env, out, "vcpuErrno", 0);
      close(vcpu);
    }
    close(vm);
  }
  close(fd);
  return out;
}

// cpuidHypervisor() -> the 12-byte vendor signature of CPUID leaf 0x40000000 ("KVMKVMKVM",
// "Microsoft Hv", "VMwareVMware", ...) when CPUID.1:ECX bit 31 (hypervisor) is set, else null.
// What util-linux lscpu reads for "Hypervisor vendor" (lscpu-virt.c read_hypervisor_cpuid).
static napi_value cpuid_hypervisor(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_get_null(env, &out);
#if defined(__x86_64__) || defined(__i386__)
  unsigned int a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 31))) return out;
  __cpuid(0x40000000, a, b, c, d);
  char sig[13];
  memcpy(sig, &b, 4);
  memcpy(sig + 4, &c, 4);
  memcpy(sig + 8, &d, 4);
  sig[12] = 0;
  napi_create_string_latin1(env, sig, strnlen(sig, 12), &out);
#endif
  return out;
}

// kvmHypervCaps(path) -> { openErrno, extensions: {name: KVM_CHECK_EXTENSION result}, msrs: [...] }
// The two questions KubeVirt's virt-handler asks /dev/kvm for its hyperv.node.kubevirt.io labels
// (pkg/virt-handler/node-labeller/kvm-caps-info-plugin_amd64.go): the Hyper-V capability
// extensions and the MSR index list (KVM_GET_MSR_INDEX_LIST, sized by a first E2BIG call).
static napi_value kvm_hyperv_caps(napi_env env, napi_callback_info info) {
  napi_value out;
  napi_create_object(env, &out);
  int fd = open_kvm_arg(env, info, out);
  if (fd < 0) return out;
  napi_value ext;
  napi_create_object(env, &ext);
  static const struct { const char *name; int cap; } caps[] = {
      {"hyperv", KVM_CAP_HYPERV},           {"hypervTime", KVM_CAP_HYPERV_TIME},
      {"hypervVpIndex", KVM_CAP_HYPERV_VP_INDEX}, {"hypervTlbflush", KVM_CAP_HYPERV_TLBFLUSH},
      {"hypervSendIpi", KVM_CAP_HYPERV_SEND_IPI}, {"hypervSynic", KVM_CAP_HYPERV_SYNIC},
      {"hypervSynic2", KVM_CAP_HYPERV_SYNIC2},
  };
  for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) set_int(env, ext, caps[i].name, ioctl(fd, KVM_CHECK_EXTENSION, caps[i].cap));
  napi_set_named_property(env, out, "extensions", ext);
  struct kvm_msr_list probe = {0};
  napi_value msrs;
  napi_create_array(env, &msrs);
  if (ioctl(fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG) {
    set_int(env, out, "msrErrno", errno);
  } else {
    struct kvm_msr_list *list = calloc(1, sizeof *list + probe.nmsrs * sizeof(__u32));
    if (list) {
      list->nmsrs = probe.nmsrs;
      if (ioctl(fd, KVM_GET_MSR_INDEX_LIST, list) == 0) {
        for (__u32 i = 0; i < list->nmsrs; i++) {
          napi_value v;
          napi_create_uint32(env, list->indices[i], &v);
          napi_set_element(env, msrs, i, v);
        }
        set_int(env, out, "msrErrno", 0);
      } else {
        set_int(env, out, "msrErrno", errno);
      }
      free(list);
    }
  }
  napi_set_named_property(env, out, "msrs", msrs);
  close(fd);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"affinityGet", NULL, affinity_get, NULL, NULL, NULL, napi_default, NULL},
      {"affinitySet", NULL, affinity_set, NULL, NULL, NULL, napi_default, NULL},
      {"kvmProbe", NULL, kvm_probe, NULL, NULL, NULL, napi_default, NULL},
      {"cpuidHypervisor", NULL, cpuid_hypervisor, NULL, NULL, NULL, napi_default, NULL},
      {"kvmHypervCaps", NULL, kvm_hyperv_caps, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
