/**
 * The one table of kvcpu's error codes: code → exit status → documentation (section of
 * docs/errors.md, anchor `#<code in lower case>`) and its text. `ErrorCode` is derived from it, so a
 * code that is not here does not type-check; `npm run gen:errors` writes docs/errors.md from it and
 * test/error-codes.test.ts fails when that file is stale or the sources use a code missing here.
 * Add a code: one line, in sorted order (merges stay easy); the text's first sentence is its
 * one-line description, then **Raised by**, **Exit**, **Fix** as in the others.
 */

/** Sections of docs/errors.md, in page order (titles and intros: scripts/gen-errors-doc.ts). */
export type ErrorSection = 'input' | 'host' | 'smp' | 'topology' | 'cpu-models' | 'cpu-baseline' | 'guests' | 'plan' | 'qemu' | 'internal';

export interface ErrorCodeInfo {
  /** Process exit status of the CLI when this code ends a command (0 ok, 1 findings, 2 error). */
  readonly exit: 0 | 1 | 2;
  readonly section: ErrorSection;
  /** Markdown, one line: first sentence = what happened; then Raised by / Exit / Fix. */
  readonly text: string;
}

// prettier-ignore
export const ERROR_CODES = {
  E_BAD_CPULIST: { exit: 2, section: 'input', text: 'A CPU list is not in the kernel list format (`0-3,8,10-11`): bad element, empty or reversed range (`3-1`), a range too large, a CPU mask that is not hex words, or an empty list after `--vcpu N=`. **Raised by:** `topology suggest --cpus`, `plan --reserved/--dedicated-set/--shared-set/--pinned`, `pin --vcpu/--emulator/--iothread`, and every reader of kernel cpulist files. **Exit:** 2. **Fix:** use the kernel format, e.g. `0-3,8`; ranges go low-high.' },
  E_BAD_INPUT: { exit: 2, section: 'input', text: 'A value has the right syntax but is not acceptable: a guest spec with `vcpus=0`, two guests with the same name, a `KEY=VALUE` item without `=`, a JSON file that is not the expected document (host snapshot, pin plan, Nova case, CPU definition), a capture directory that is not empty or lies inside the captured tree, a guest name launch refuses, `--to 0`, a topology whose product does not match maxcpus (library `renderTopology`), an image `hw_cpu_*` property that is not an integer. **Raised by:** `plan`, `plan nova`, `pin`, `launch`, `hotplug`, `capture`, `topology suggest`, `topology nova`, `cpu explain`, `cpu features`, `cpu baseline|compare|pools`. **Exit:** 2 (under `topology nova --batch` / `plan nova --batch`: per line, exit 2 at the end). **Fix:** correct the value the message names; the hint shows the expected shape.' },
  E_BAD_JSON: { exit: 2, section: 'input', text: 'A JSON input does not parse. **Raised by:** `plan --host/--guests`, `plan nova CASE`, `pin --plan`, `launch --pin`, `topology suggest --host`, `cpu features --pool`, `cpu baseline|compare|pools`; per line under `smp --batch` (exit stays 0), `topology nova --batch` and `plan nova --batch` (exit 2). **Exit:** 2. **Fix:** check the file with `jq . FILE`; batch modes want one JSON object per line.' },
  E_BAD_XML: { exit: 2, section: 'input', text: 'An XML input is malformed or not what libvirt would accept: unbalanced tags, a `<feature>` without a name, a `policy=` on a host CPU, an unknown feature policy, a libvirt `cpu_map` file with missing models/features. **Raised by:** `cpu baseline`, `cpu compare`, `cpu pools` (and `npm run gen` when regenerating the feature table). **Exit:** 2. **Fix:** check the file with `xmllint --noout FILE`; give `virsh capabilities`, `virsh domcapabilities` or `<cpu>` XML.' },
  E_CATALOG_MISSING: { exit: 2, section: 'cpu-models', text: 'No shipped QEMU CPU model catalog for the requested QEMU version (and none could be probed). **Raised by:** `models`, `cpu explain|levels|features`. **Exit:** 2. **Fix:** install the QEMU version you target, or run `npm run gen` on a machine with that QEMU to add its catalog.' },
  E_CGROUP: { exit: 2, section: 'guests', text: 'Writing a cpuset cgroup file failed, or no cpuset controller is mounted (`pin --cgroup`). **Raised by:** `pin --cgroup`, `unpin`. **Exit:** 2. **Fix:** run as root, or pin without `--cgroup` (affinity alone works everywhere).' },
  E_CGROUP_UNSUPPORTED: { exit: 2, section: 'guests', text: 'cgroup v2: per-thread cpuset placement is not implemented. **Raised by:** `pin --cgroup`. **Exit:** 2. **Fix:** pin without `--cgroup`.' },
  E_CPUS_COUNT_MISMATCH: { exit: 2, section: 'topology', text: '`--cpus` does not list exactly one host CPU per vCPU. **Exit:** 2. **Fix:** give `--vcpus` host CPUs in `--cpus` (dedicated pinning), or drop `--cpus`.' },
  E_CPUS_DUPLICATE: { exit: 2, section: 'topology', text: '`--cpus` names a host CPU twice. **Exit:** 2. **Fix:** one distinct host CPU per vCPU.' },
  E_CPUS_NOT_ONLINE: { exit: 2, section: 'topology', text: '`--cpus` names CPUs that are not online on the host. **Exit:** 2. **Fix:** pin only to online CPUs (`kvcpu host`).' },
  E_CPU_FEATURE_UNKNOWN: { exit: 2, section: 'cpu-models', text: 'A `-cpu` string names a property QEMU does not have (QEMU would exit with `Property ... not found`), often a Linux or libvirt spelling (`sse4_1` vs `sse4.1`). **Raised by:** `cpu explain`. **Exit:** 2. **Fix:** use the QEMU name the hint gives (`kvcpu cpu features` lists them).' },
  E_CPU_INCOMPATIBLE: { exit: 2, section: 'cpu-baseline', text: 'The CPUs share no feature at all: there is no baseline. **Fix:** check the inputs (wrong files?).' },
  E_CPU_MAP_MISSING: { exit: 2, section: 'cpu-baseline', text: 'libvirt\'s CPU map is not installed (`--cpu-map installed`) or kvcpu\'s shipped snapshot is missing. **Fix:** `apt-get install libvirt0`, or use `--cpu-map snapshot`/`auto`.' },
  E_CPU_MODEL_UNKNOWN: { exit: 2, section: 'cpu-models', text: 'The CPU model is not in QEMU\'s catalog (`-cpu Foo`). **Raised by:** `cpu explain`, `cpu levels`, `cpu features --model`. **Exit:** 2. **Fix:** `kvcpu models` lists the names; the hint suggests the closest one.' },
  E_CPU_NOT_X86: { exit: 2, section: 'cpu-baseline', text: 'An input is not x86 (libvirt\'s x86 cpu_map is the only one kvcpu models). **Fix:** give x86 hosts only.' },
  E_CPU_NO_INPUT: { exit: 2, section: 'cpu-baseline', text: 'No CPU definitions: no inputs, an empty file, or XML without a `<cpu>` element. **Fix:** pass libvirt `<cpu>` XML, `virsh capabilities`/`domcapabilities`, `kvcpu host --json` output or a copy of `/proc/cpuinfo`.' },
  E_CPU_NO_MODEL: { exit: 2, section: 'cpu-baseline', text: 'A CPU has neither a model nor features (host-passthrough/host-model guests describe no CPU), or no libvirt model fits the common features. **Fix:** give the host\'s `virsh capabilities` / `domcapabilities` instead of the guest\'s `<cpu mode=...>`.' },
  E_CPU_UNKNOWN_FEATURE: { exit: 2, section: 'cpu-baseline', text: 'A feature name libvirt does not know: libvirt accepts only its own spellings (`lahf_lm`, `pclmuldq`, `sse4.1`, `tsc-deadline`), not QEMU\'s or Linux\'s. **Fix:** use the libvirt spelling.' },
  E_CPU_UNKNOWN_MODEL: { exit: 2, section: 'cpu-baseline', text: 'A model name libvirt\'s cpu_map does not know (e.g. `cpu compare Foo`), or an argument that is neither a file nor a model. **Fix:** use a libvirt model name or a file path.' },
  E_CPU_UNKNOWN_VENDOR: { exit: 2, section: 'cpu-baseline', text: 'A `<vendor>` libvirt does not know. **Fix:** use a libvirt vendor name (Intel, AMD, Hygon, ...).' },
  E_CPU_VENDOR_MISMATCH: { exit: 2, section: 'cpu-baseline', text: 'Inputs from different vendors (Intel vs AMD), or a model whose vendor contradicts the `<vendor>` element. A guest cannot migrate between vendors. **Fix:** baseline each vendor\'s hosts separately, or fix the input.' },
  E_GUEST_AMBIGUOUS: { exit: 2, section: 'guests', text: 'Several QEMU processes carry the same name. **Raised by:** `pin`, `unpin`, `hotplug`, `stop`. **Exit:** 2. **Fix:** name the guest by pid.' },
  E_GUEST_NOT_FOUND: { exit: 2, section: 'guests', text: 'No running QEMU process matches the name or pid. **Raised by:** `pin`, `unpin`, `hotplug`, `stop`. **Exit:** 2. **Fix:** `kvcpu ps` lists the guests (the hint lists up to 8).' },
  E_HOTPLUG_MAX: { exit: 2, section: 'guests', text: '`--to` exceeds the guest\'s maxcpus (fixed at start). **Raised by:** `hotplug`. **Exit:** 2. **Fix:** relaunch with `-smp N,maxcpus=M`.' },
  E_HOTPLUG_NO_QMP: { exit: 2, section: 'guests', text: 'The guest has no QMP unix socket on its command line, or kvcpu cannot connect to it (QMP serves one client per socket). **Raised by:** `hotplug`. **Exit:** 2. **Fix:** start QEMU with `-qmp unix:PATH,server=on,wait=off`. libvirt domains go through `virsh setvcpus` instead: this code then means virsh cannot reach the domain (`virsh list`).' },
  E_HOTPLUG_UNPLUG_PENDING: { exit: 2, section: 'guests', text: 'The unplug was requested but the guest did not eject the CPU within 3 s. **Raised by:** `hotplug`. **Exit:** 2. **Fix:** the guest OS must offline and eject the CPU; check inside it.' },
  E_HOTPLUG_UNPLUG_UNSUPPORTED: { exit: 2, section: 'guests', text: 'Lowering the count needs vCPUs that were hot-plugged: vCPUs present at boot cannot be removed, or QEMU refused the unplug (no guest OS handling ACPI CPU eject). **Raised by:** `hotplug`. **Exit:** 2. **Fix:** the hint gives the lowest reachable count; unplug needs a guest OS with ACPI CPU hotplug.' },
  E_HOTPLUG_VERIFY: { exit: 2, section: 'guests', text: '`device_add` succeeded but no new vCPU thread appeared. **Raised by:** `hotplug`. **Exit:** 2. **Fix:** check `kvcpu ps`; report it if it persists.' },
  E_INSTALL_BROKEN: { exit: 2, section: 'internal', text: 'The kvcpu installation is incomplete: the package folder (its `package.json`) or a shipped data file cannot be found from the running module. **Raised by:** any command, on first use of the package\'s data. **Exit:** 2. **Fix:** reinstall kvcpu (`npm install kvcpu`), or in a clone run `npm ci`.' },
  E_INTERNAL: { exit: 2, section: 'internal', text: 'A kvcpu bug: an unexpected exception (wrapped by the CLI) or an internal consistency check (the planner claiming a CPU twice, a suggested `-smp` that re-parses differently). In `kvcpu report` it marks a section that crashed. **Exit:** 2. **Fix:** please report it with the command line you ran (`KVCPU_DEBUG=1` prints the stack).' },
  E_IO: { exit: 2, section: 'input', text: 'Reading a file failed for another reason than "missing" (permissions, a directory, I/O error). **Raised by:** `topology suggest --host`, `cpu features --pool`, `cpu baseline|compare|pools`. **Exit:** 2. **Fix:** check the path and permissions.' },
  E_KVM_MISSING: { exit: 2, section: 'qemu', text: 'A KVM run was asked for but `/dev/kvm` is absent or unusable (e.g. a nested guest whose kernel does not bind KVM). **Raised by:** `smp --verify --accel kvm`. **Exit:** 2. **Fix:** drop `--accel kvm` (`--verify` runs QEMU under TCG by default), or run on a host where `kvcpu check` shows `/dev/kvm` usable.' },
  E_MAX_BELOW_VCPUS: { exit: 2, section: 'topology', text: '`--max` (maxcpus) is smaller than `--vcpus`. **Exit:** 2. **Fix:** `--max` ≥ `--vcpus`.' },
  E_MAX_LAYOUT: { exit: 2, section: 'topology', text: '`--max` cannot be reached by adding whole hot-plug units (sockets, dies or cores) to the suggested topology, or would exceed the guest OS\'s socket limit. **Exit:** 2. **Fix:** use one of the `--max` values the hint lists (a multiple of the unit above `--vcpus`).' },
  E_NOT_FOUND: { exit: 2, section: 'input', text: 'A file named on the command line does not exist or cannot be read. **Raised by:** `pin --plan`, `launch --pin`, `plan --host/--guests`, `plan nova CASE`, `cpu baseline|compare|pools`. **Exit:** 2. **Fix:** check the path (`kvcpu plan ... --json > plan.json` writes a pin plan).' },
  E_NOT_LIBVIRT: { exit: 2, section: 'guests', text: '`--via-libvirt` for guests that are not libvirt domains. **Raised by:** `pin --via-libvirt`. **Exit:** 2. **Fix:** drop `--via-libvirt` for plain QEMU guests.' },
  E_PERMISSION: { exit: 2, section: 'input', text: 'Reserved for "kvcpu lacks a privilege" (declared in `ErrorCode`; current commands report privilege problems through the specific codes such as `E_PIN_FAILED` or `E_CGROUP`). **Exit:** 2. **Fix:** run as root or as a user with access to the named file.' },
  E_PIN_FAILED: { exit: 2, section: 'guests', text: '`sched_setaffinity` (or `taskset`, or `virsh ...pin`) failed, or the re-read of `/proc/PID/task/TID/status` did not show the wanted `Cpus_allowed_list`; everything done so far was rolled back (`details.rolledBack`). **Raised by:** `pin`, `launch --pin`. **Exit:** 2. **Fix:** run as root (or the guest\'s owner), keep CPUs inside the thread\'s cpuset; for libvirt domains check `virsh list`.' },
  E_PIN_GUEST_GONE: { exit: 2, section: 'guests', text: 'The guest exited before pinning started; nothing changed. **Raised by:** `pin`. **Exit:** 2. **Fix:** `kvcpu ps`, then retry.' },
  E_PIN_INVALID: { exit: 2, section: 'guests', text: 'The requested pinning is refused before anything changes: CPUs offline, outside the caller\'s allowed set (cgroup cpuset/affinity), `--config` for a transient libvirt domain, or other problems listed in `details.problems`. **Raised by:** `pin`, `launch --pin`. **Exit:** 2. **Fix:** choose online CPUs inside the allowed set (`kvcpu host`).' },
  E_PIN_NO_EMULATOR: { exit: 2, section: 'guests', text: 'No emulator threads were found for `--emulator`. **Raised by:** `pin`. **Exit:** 2. **Fix:** check the guest\'s threads in `kvcpu ps` (role `emulator`).' },
  E_PIN_NO_IOTHREAD: { exit: 2, section: 'guests', text: '`--iothread ID=...` names an IOThread the guest does not have. **Raised by:** `pin`. **Exit:** 2. **Fix:** use an id from the hint (`-object iothread,id=ID`).' },
  E_PIN_NO_VCPU: { exit: 2, section: 'guests', text: 'The guest has no such vCPU, or kvcpu found no thread for it (QEMU without `-name ...,debug-threads=on`, no reachable QMP). **Raised by:** `pin`, `launch --pin`. **Exit:** 2. **Fix:** check `kvcpu ps`; start QEMU with `-name guest=X,debug-threads=on`.' },
  E_PIN_SINGLE_THREAD: { exit: 2, section: 'guests', text: 'All vCPUs run in one thread (TCG `thread=single`), so they cannot be pinned apart. **Raised by:** `pin`. **Exit:** 2. **Fix:** give every vCPU the same CPUs, or start the guest with `-accel tcg,thread=multi` (or KVM).' },
  E_PIN_THREAD_GONE: { exit: 2, section: 'guests', text: 'A thread to pin exited before pinning started; nothing changed. **Raised by:** `pin`. **Exit:** 2. **Fix:** `kvcpu ps`, then retry.' },
  E_PLAN_SETS: { exit: 2, section: 'plan', text: '`--reserved`, `--dedicated-set` or `--shared-set` name CPUs that are not online, or overlap each other. **Raised by:** `plan`. **Exit:** 2. **Fix:** pick disjoint sets among the online CPUs (`kvcpu host`). A guest that does not fit is a result (exit 1), not this error.' },
  E_PROCFS_MISSING: { exit: 2, section: 'host', text: '`proc/cpuinfo` is missing under the root. **Raised by:** the same commands as [E_SYSFS_MISSING](#e_sysfs_missing), and `cpu compare --host live`. **Exit:** 2. **Fix:** mount procfs (`mount -t proc proc /proc`) or recapture the tree with `kvcpu capture DIR`.' },
  E_QEMU_FAILED: { exit: 2, section: 'qemu', text: 'QEMU exited before it was ready (bad option, no KVM, ...); its stderr is in the message / `details.stderr`. **Raised by:** `launch` (`smp --verify` and `check` turn it into a comparison or a verdict). **Exit:** 2. **Fix:** read QEMU\'s message; check `/dev/kvm` with `kvcpu check` or use `--accel tcg`.' },
  E_QEMU_MISSING: { exit: 2, section: 'qemu', text: '`qemu-system-x86_64` is not installed. **Raised by:** `launch`, `smp --verify`, `models --live` (`check` turns any QEMU probe problem into a verdict). **Exit:** 2. **Fix:** `apt-get install --no-install-recommends qemu-system-x86`.' },
  E_QMP_CLOSED: { exit: 2, section: 'qemu', text: 'QEMU closed the QMP connection mid-call (it exited or crashed). **Exit:** 2. **Fix:** check QEMU\'s log; the guest is probably gone (`kvcpu ps`).' },
  E_QMP_COMMAND_NOT_FOUND: { exit: 2, section: 'qemu', text: 'QEMU does not know the QMP command (QMP class `CommandNotFound`: older QEMU). **Exit:** 2. **Fix:** upgrade QEMU or avoid the feature.' },
  E_QMP_CONNECT: { exit: 2, section: 'qemu', text: 'Cannot connect to a QMP socket, or the greeting is not QMP. **Raised by:** `hotplug` (as E_HOTPLUG_NO_QMP), `launch`, `smp --verify`, `models --live`, library `QmpClient.connect`. **Exit:** 2. **Fix:** check the path and that QEMU runs with `-qmp unix:PATH,server=on,wait=off`.' },
  E_QMP_DEVICE_NOT_ACTIVE: { exit: 2, section: 'qemu', text: 'QMP class `DeviceNotActive`. **Exit:** 2. **Fix:** activate the device first.' },
  E_QMP_DEVICE_NOT_FOUND: { exit: 2, section: 'qemu', text: 'QMP class `DeviceNotFound` (e.g. unplugging a device id that does not exist). **Exit:** 2. **Fix:** list devices/CPUs (`kvcpu ps`, `query-hotpluggable-cpus`).' },
  E_QMP_ERROR: { exit: 2, section: 'qemu', text: 'Any other QMP error (`GenericError`, ...); `details.class` and `details.desc` carry QEMU\'s text. **Exit:** 2. **Fix:** read QEMU\'s description in the message.' },
  E_QMP_KVM_MISSING: { exit: 2, section: 'qemu', text: 'QMP class `KVMMissingCap`: the KVM capability the command needs is missing. **Exit:** 2. **Fix:** use a host/kernel with that KVM capability, or TCG.' },
  E_QMP_TIMEOUT: { exit: 2, section: 'qemu', text: 'No QMP greeting, reply or awaited event within the timeout (another client may hold the monitor: QMP serves one client per socket). **Exit:** 2. **Fix:** retry; close other QMP clients.' },
  E_SMP_APIC_ID_LIMIT: { exit: 2, section: 'smp', text: 'x86 under TCG on QEMU < 9.0: APIC IDs ≥ 255 need KVM\'s in-kernel irqchip with X2APIC. **Fix:** use `--accel kvm` (on a host with KVM), fewer vCPUs, or a topology with smaller APIC IDs.' },
  E_SMP_HELP: { exit: 0, section: 'smp', text: 'Not an error: `-smp help` (or `?`) asks for the member list, as QEMU does. `kvcpu smp help` prints it and exits **0**.' },
  E_SMP_MACHINE_UNKNOWN: { exit: 2, section: 'smp', text: 'The machine type is not one QEMU (of that version) knows. **Raised by:** `smp --machine`, `smp --format`, `topology suggest --machine`, library `renderTopology`. **Exit:** 2. **Fix:** use e.g. `q35`, `pc`, `pc-q35-7.2`, `microvm`, `virt`.' },
  E_SMP_MAXCPUS_LT_CPUS: { exit: 2, section: 'smp', text: 'maxcpus is smaller than cpus. **Fix:** `maxcpus` counts every possible vCPU: make it ≥ cpus.' },
  E_SMP_NOT_INTEGER: { exit: 2, section: 'smp', text: 'A member is not an integer (`Parameter \'smp.cores\' expects integer`). **Fix:** give whole numbers.' },
  E_SMP_OUT_OF_RANGE: { exit: 2, section: 'smp', text: 'A value is negative or ≥ 2^32: QEMU 7.2 would silently wrap it to 32 bits, kvcpu refuses instead (kvcpu-only, marked `kvcpuOnly`). **Fix:** give a count within the machine\'s limits.' },
  E_SMP_PRODUCT_MISMATCH: { exit: 2, section: 'smp', text: 'The product of the hierarchy (sockets × dies × … × threads) does not equal maxcpus. **Fix:** make the product equal maxcpus (or omit one member and let QEMU compute it).' },
  E_SMP_QEMU_VERSION: { exit: 2, section: 'smp', text: '`--qemu-version` is not `MAJOR.MINOR` or is outside the modelled range (5.2 – 10.2). **Fix:** give a modelled version, e.g. `--qemu-version 7.2`.' },
  E_SMP_SYNTAX: { exit: 2, section: 'smp', text: 'The `-smp` value is not valid keyval syntax (`Invalid parameter`, `Expected \'=\'`, a key too long). **Fix:** write `N,key=value,...`, e.g. `8,sockets=2,cores=4`.' },
  E_SMP_TOO_FEW_CPUS: { exit: 2, section: 'smp', text: 'Fewer CPUs than the machine\'s minimum. **Fix:** raise cpus.' },
  E_SMP_TOO_MANY_CPUS: { exit: 2, section: 'smp', text: 'More CPUs than the machine type supports (`The max CPUs supported by machine \'pc-q35-7.2\' is 288`), or than its board limit. **Raised also by:** `topology suggest` (lower `--max`/`--vcpus`). **Fix:** lower the count or use a newer machine type.' },
  E_SMP_UNKNOWN_KEY: { exit: 2, section: 'smp', text: 'An unknown member (`Parameter \'smp.core\' is unexpected`) or a dotted key. **Fix:** use the members QEMU knows (`kvcpu smp help`): cpus, maxcpus, drawers, books, sockets, dies, clusters, modules, cores, threads (per QEMU version).' },
  E_SMP_UNSUPPORTED_LEVEL: { exit: 2, section: 'smp', text: '`dies`, `clusters`, `books`, `drawers` or `modules` > 1 on a machine without that level (e.g. `clusters=2` on q35). **Fix:** drop the level or choose a machine that has it.' },
  E_SMP_ZERO: { exit: 2, section: 'smp', text: 'QEMU ≥ 9.0 refuses a member given as 0 (older versions treat 0 as omitted). **Fix:** omit the member instead of writing 0.' },
  E_SYSFS_MISSING: { exit: 2, section: 'host', text: 'No usable `/sys/devices/system/cpu` (and no usable `/proc/cpuinfo` to fall back on) under the root, or the `--root` directory does not exist / holds neither `proc/` nor `sys/`. **Raised by:** `host`, `capture`, `check`, `ps`, `top`, `overcommit`, `plan`, `topology suggest`, `models --root`, `cpu levels|features --root`, `pin`, `unpin`, `launch` (any command that reads the host). **Exit:** 2. **Fix:** on a live host mount sysfs/procfs; with `--root`, point at the top of a tree made by `kvcpu capture DIR` (the directory holding `proc/` and `sys/`).' },
  E_TASKSET_MISSING: { exit: 2, section: 'guests', text: 'Neither the native addon nor util-linux `taskset` is available to set affinity. **Raised by:** `pin`, `unpin`, `launch --pin`. **Exit:** 2. **Fix:** install util-linux, or build the addon (`npm ci` runs node-gyp).' },
  E_TIMEOUT: { exit: 2, section: 'qemu', text: 'Something did not happen in time: QEMU\'s QMP socket did not appear, or a stopped guest did not exit. **Raised by:** `launch`, `stop`. **Exit:** 2. **Fix:** for `stop`, `kill -9 PID` (the hint has it); for `launch`, see QEMU\'s log in the guest directory.' },
  E_UNPIN_FAILED: { exit: 2, section: 'guests', text: 'Restoring a thread\'s saved affinity failed. **Raised by:** `unpin`. **Exit:** 2. **Fix:** run as root; restore by hand with `taskset -p -c CPUS TID`.' },
  E_UNPIN_NO_STATE: { exit: 2, section: 'guests', text: 'kvcpu has no saved pin state for this guest (it was not pinned by kvcpu, or the guest restarted). **Raised by:** `unpin`. **Exit:** 2. **Fix:** reset by hand, e.g. `taskset -a -p -c <online> PID` (the hint has the exact command).' },
  E_USAGE: { exit: 2, section: 'input', text: 'The command line is wrong: unknown option, missing required option or argument, an option value commander\'s parser rejects (`--vcpus 0`, `--ratio abc`), or options that exclude each other (`--plan` with `--vcpu`, `--host` with `--root`, `--batch` with a SPEC, an unknown `report --only` section, `plan --format`/`--placement` values, `-` (stdin) given twice). **Raised by:** every command. **Exit:** 2. **Fix:** read `kvcpu <command> --help`; the hint shows a working example. Under `--json`, usage errors found by commander itself also print the JSON envelope on stdout (the text line stays on stderr).' },
  E_VCPUS_EXCEED_HOST: { exit: 2, section: 'topology', text: 'More vCPUs than the host has online CPUs: the guest would time-slice its own vCPUs (lock-holder preemption). **Exit:** 2. **Fix:** `--vcpus` ≤ online host CPUs.' },
} as const satisfies Record<`E_${string}`, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** True when `s` is a code of the table (for codes that arrive as strings, e.g. parsed JSON). */
export function isErrorCode(s: string): s is ErrorCode {
  return Object.hasOwn(ERROR_CODES, s);
}

/** The exit status the table gives `code`. */
export function exitStatusOf(code: ErrorCode): 0 | 1 | 2 {
  return ERROR_CODES[code].exit;
}

/** Where `code` is documented: `docs/errors.md#e_bad_cpulist`. */
export function errorDocAnchor(code: ErrorCode): string {
  return `docs/errors.md#${code.toLowerCase()}`;
}

/** The one-line description of `code` (first sentence of its text). */
export function errorSummary(code: ErrorCode): string {
  const text = ERROR_CODES[code].text;
  const end = text.search(/\.(\s|$)/);
  return end < 0 ? text : text.slice(0, end + 1);
}
