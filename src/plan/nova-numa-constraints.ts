import { KvcpuError } from '../core/errors.ts';
import type { NovaCpuPolicy, NovaInstance, NovaInstanceCell, NovaThreadPolicy } from './nova-case.ts';
import { boolFromString, formatPySet, isIntLike, PySet, pythonInt, pythonRepr, pythonStr, pythonTruthy, stringToBytes } from '../core/python-semantics.ts';

/**
 * Nova 26.2.2's flavor + image → guest NUMA topology (`numa_get_constraints` in
 * nova/virt/hardware.py; rules in ../shared/notes/nova-algorithms.md §1): which CPU policy, thread
 * policy, emulator policy and page size the guest asks for, whether it gets a NUMA topology at
 * all, and how its vCPUs and memory split over guest cells. The result is the `instance` that
 * `kvcpu plan nova` fits onto a host. Nova's refusals are answers (values), not kvcpu errors.
 * Checks run in Nova's order, because when a flavor is wrong twice the first check decides
 * which exception the user sees.
 */

export interface NovaFlavorRequest {
  vcpus: number;
  memory_mb: number;
  /** Flavor extra specs (Nova stores them as strings). */
  flavor_extra_specs?: Record<string, unknown>;
  /** Image properties as given to ImageMeta.from_dict. */
  image_properties?: Record<string, unknown>;
}

export type NovaConstraintsAnswer = { instance: NovaInstance | null } | { error: string; message: string };

/**
 * Nova's ImageMeta / hardware.py exception: the class name is the answer. Internal control flow,
 * not exported: answerNovaConstraints turns it into its `{ error, message }` result.
 */
class NovaRaise extends Error {
  constructor(
    readonly cls: string,
    message: string,
  ) {
    super(message);
  }
}

const CPU_POLICIES = ['dedicated', 'shared', 'mixed'] as const;
const THREAD_POLICIES = ['prefer', 'isolate', 'require'] as const;
const EMULATOR_POLICIES = ['share', 'isolate'] as const;
/** ImageMetaProps.NUMA_NODES_MAX: the per-node keys `.0` … `.127` are read until the first gap. */
const NUMA_NODES_MAX = 128;
const MEMPAGES = { small: -1, large: -2, any: -3 } as const;

/** str() of a Python tuple of strs, as Nova prints the allowed values. */
const pyTuple = (xs: readonly string[]) => `(${xs.map((x) => `'${x}'`).join(', ')})`;

/** hardware.parse_cpu_spec: `1-4,^3,6`; the set keeps CPython's order (see manualCells). */
export function parseNovaCpuSpec(spec: string): PySet {
  const take = new PySet();
  const reject = new PySet();
  for (const raw of spec.split(',')) {
    const rule = raw.trim();
    if (!rule) continue;
    const dash = rule.indexOf('-');
    if (dash >= 0) {
      let head = rule.slice(0, dash);
      const tail = rule.slice(dash + 1);
      const neg = head.startsWith('^');
      if (neg) head = head.slice(1);
      const start = pythonInt(head);
      const end = pythonInt(tail);
      if (start === null || end === null || start > end) throw new NovaRaise('Invalid', `Invalid range expression ${pythonRepr(rule)}`);
      const range = PySet.fromIterable(Array.from({ length: end - start + 1 }, (_, i) => start + i));
      (neg ? reject : take).merge(range);
    } else if (rule.startsWith('^')) {
      const n = pythonInt(rule.slice(1).trim());
      if (n === null) throw new NovaRaise('Invalid', `Invalid exclusion expression ${pythonRepr(rule)}`);
      reject.add(n);
    } else {
      const n = pythonInt(rule);
      if (n === null) throw new NovaRaise('Invalid', `Invalid inclusion expression ${pythonRepr(rule)}`);
      take.add(n);
    }
  }
  take.subtract(reject);
  return take;
}

/** The image properties after ImageMeta.from_dict's coercion (it raises before Nova's checks run). */
interface ImageProps {
  cpuPolicy: string | null;
  threadPolicy: string | null;
  lockedMemory: boolean | null;
  pageSize: string | null;
  realtimeMask: string | null;
  numaNodes: number | null;
  numaCpus: PySet[] | null;
  numaMem: number[] | null;
  traitsRequired: string[];
}

function readImage(props: Record<string, unknown>): ImageProps {
  const has = (k: string) => props[k] !== undefined;
  // Enum fields refuse values outside their list: the ValueError comes from the object layer.
  const enumField = (k: string, allowed: readonly string[]): string | null => {
    if (!has(k) || props[k] === null) return null;
    const v = pythonStr(props[k]);
    if (!allowed.includes(v)) throw new NovaRaise('ValueError', `Field value ${v} is invalid`);
    return v;
  };
  const intField = (k: string, v: unknown): number => {
    const n = pythonInt(v);
    if (n === null) throw new NovaRaise('ValueError', `invalid literal for int() with base 10: ${pythonRepr(pythonStr(v))}`);
    return n;
  };
  const perNode = <T>(prefix: string, f: (v: unknown) => T): T[] | null => {
    const out: T[] = [];
    for (let i = 0; i < NUMA_NODES_MAX && has(`${prefix}.${i}`); i++) out.push(f(props[`${prefix}.${i}`]));
    return out.length ? out : null;
  };
  // ImageMetaProps field order decides which bad property is reported first.
  const cpuPolicy = enumField('hw_cpu_policy', CPU_POLICIES);
  const threadPolicy = enumField('hw_cpu_thread_policy', THREAD_POLICIES);
  const lockedMemory = has('hw_locked_memory') && props.hw_locked_memory !== null ? boolFromString(props.hw_locked_memory) : null;
  const pageSize = has('hw_mem_page_size') && props.hw_mem_page_size !== null ? pythonStr(props.hw_mem_page_size) : null;
  const numaNodes = has('hw_numa_nodes') && props.hw_numa_nodes !== null ? intField('hw_numa_nodes', props.hw_numa_nodes) : null;
  const numaCpus = perNode('hw_numa_cpus', (v) => parseNovaCpuSpec(pythonStr(v)));
  const numaMem = perNode('hw_numa_mem', (v) => intField('hw_numa_mem', v));
  const realtimeMask = has('hw_cpu_realtime_mask') && props.hw_cpu_realtime_mask !== null ? pythonStr(props.hw_cpu_realtime_mask) : null;
  const traitsRequired = Object.entries(props)
    .filter(([k, v]) => k.startsWith('trait:') && pythonStr(v) === 'required')
    .map(([k]) => k.slice(6));
  return { cpuPolicy, threadPolicy, lockedMemory, pageSize, realtimeMask, numaNodes, numaCpus, numaMem, traitsRequired };
}

/** get_cpu_policy_constraint: a flavor dedicated/mixed wins; an image may not loosen a flavor. */
function cpuPolicyOf(flavor: string | undefined, image: string | null): NovaCpuPolicy {
  const all = pyTuple(CPU_POLICIES);
  if (flavor && !(CPU_POLICIES as readonly string[]).includes(flavor)) {
    throw new NovaRaise('InvalidCPUAllocationPolicy', `CPU policy requested from 'flavor extra specs' is invalid, given: '${flavor}', available: '${all}'.`);
  }
  const forbidden = () =>
    new NovaRaise('ImageCPUPinningForbidden', "Image property 'hw_cpu_policy' is not permitted to override CPU pinning policy set against the flavor");
  if (flavor === 'dedicated') return 'dedicated';
  if (flavor === 'mixed') {
    if (image === 'dedicated') throw forbidden();
    return 'mixed';
  }
  if (flavor === 'shared') {
    if (image === 'mixed' || image === 'dedicated') throw forbidden();
    return 'shared';
  }
  return (image as NovaCpuPolicy) ?? null;
}

/** get_cpu_thread_policy_constraint: the image may set it only when the flavor says nothing or `prefer`. */
function threadPolicyOf(flavor: string | undefined, image: string | null): string | null {
  if (flavor && !(THREAD_POLICIES as readonly string[]).includes(flavor)) {
    throw new NovaRaise(
      'InvalidCPUThreadAllocationPolicy',
      `CPU thread policy requested from 'flavor extra specs' is invalid, given: '${flavor}', available: '${pyTuple(THREAD_POLICIES)}'.`,
    );
  }
  if (flavor === undefined || flavor === 'prefer') return flavor || image;
  if (image && image !== flavor) {
    throw new NovaRaise(
      'ImageCPUThreadPolicyForbidden',
      "Image property 'hw_cpu_thread_policy' is not permitted to override CPU thread pinning policy set against the flavor",
    );
  }
  return flavor;
}

/** get_emulator_thread_policy_constraint (flavor only). */
function emulatorPolicyOf(specs: Record<string, string>): 'share' | 'isolate' | null {
  const v = specs['hw:emulator_threads_policy'];
  if (!v) return null;
  if (!(EMULATOR_POLICIES as readonly string[]).includes(v)) {
    throw new NovaRaise(
      'InvalidEmulatorThreadsPolicy',
      `CPU emulator threads option requested is invalid, given: '${v}', available: '${pyTuple(EMULATOR_POLICIES)}'.`,
    );
  }
  return v as 'share' | 'isolate';
}

/** A vCPU mask: `^`-led masks subtract from all vCPUs (`^0` = every vCPU but 0). */
function parseMask(mask: string, vcpus: number): Set<number> {
  const spec = mask.trim().startsWith('^') ? `0-${vcpus - 1},${mask}` : mask;
  return new Set(parseNovaCpuSpec(spec).values());
}

/** get_realtime_cpu_constraint: realtime vCPUs, which must leave one vCPU (or an emulator policy) for housekeeping. */
function realtimeCpusOf(specs: Record<string, string>, image: ImageProps, vcpus: number): Set<number> | null {
  if (!boolFromString(specs['hw:cpu_realtime'] ?? null)) return null;
  // The image mask is used ahead of the flavor's (more specific).
  const mask = image.realtimeMask || specs['hw:cpu_realtime_mask'];
  const rt = mask ? parseMask(mask, vcpus) : new Set(Array.from({ length: vcpus }, (_, i) => i));
  const generic = 'Use of realtime CPUs requires either one or more non-realtime CPU(s) or offloaded emulator threads.';
  if (rt.size === 0) throw new NovaRaise('RealtimeMaskNotFoundOrInvalid', generic);
  const emu = emulatorPolicyOf(specs);
  const all = rt.size === vcpus && [...rt].every((x) => x >= 0 && x < vcpus);
  if (all && !emu) throw new NovaRaise('RealtimeMaskNotFoundOrInvalid', generic);
  if (![...rt].every((x) => x >= 0 && x < vcpus)) {
    throw new NovaRaise(
      'RealtimeMaskNotFoundOrInvalid',
      'Realtime policy vCPU(s) mask is configured with RT vCPUs that are not a subset of the vCPUs in the flavor. See hw:cpu_realtime_mask or hw_cpu_realtime_mask',
    );
  }
  return rt;
}

/** get_dedicated_cpu_constraint: the mixed policy's pinned vCPUs. */
function dedicatedCpusOf(specs: Record<string, string>, vcpus: number): Set<number> | null {
  const mask = specs['hw:cpu_dedicated_mask'];
  if (!mask) return null;
  const p = parseMask(mask, vcpus);
  const floating = Array.from({ length: vcpus }, (_, i) => i).filter((x) => !p.has(x));
  if (p.size === 0 || floating.length === 0) {
    throw new NovaRaise(
      'InvalidMixedInstanceDedicatedMask',
      "Mixed instance must have at least 1 pinned vCPU and 1 unpinned vCPU. See 'hw:cpu_dedicated_mask'.",
    );
  }
  if (![...p].every((x) => x >= 0 && x < vcpus)) {
    throw new NovaRaise(
      'InvalidMixedInstanceDedicatedMask',
      'Mixed instance dedicated vCPU(s) mask is not a subset of vCPUs in the flavor. See "hw:cpu_dedicated_mask"',
    );
  }
  return p;
}

/** _get_vcpu_pcpu_resources: `resources[N]:VCPU|PCPU` summed (re.match anchors only the start; bad ints are skipped). */
function resourcesOf(specs: Record<string, string>): { vcpu: number; pcpu: number } {
  let vcpu = 0;
  let pcpu = 0;
  for (const [k, v] of Object.entries(specs)) {
    const n = pythonInt(v);
    if (/^resources([1-9][0-9]*)?:VCPU/.test(k) && n !== null) vcpu += n;
    if (/^resources([1-9][0-9]*)?:PCPU/.test(k) && n !== null) pcpu += n;
  }
  return { vcpu, pcpu };
}

/** _get_hyperthreading_trait: the first flavor `trait[N]:HW_CPU_HYPERTHREADING`, else an image-required trait. */
function hyperthreadingTraitOf(specs: Record<string, string>, image: ImageProps): string | null {
  for (const [k, v] of Object.entries(specs)) if (/^trait([1-9][0-9]*)?:HW_CPU_HYPERTHREADING/.test(k)) return v;
  return image.traitsRequired.includes('HW_CPU_HYPERTHREADING') ? 'required' : null;
}

/** _get_numa_node_count_constraint. */
function nodeCountOf(flavor: string | undefined, image: number | null): number | null {
  if (pythonTruthy(flavor) && pythonTruthy(image)) {
    throw new NovaRaise('ImageNUMATopologyForbidden', "Image property 'hw_numa_nodes' is not permitted to override NUMA configuration set against the flavor");
  }
  const nodes: string | number | null = flavor || image;
  if (nodes === null || nodes === undefined) return null;
  if (!isIntLike(nodes) || pythonInt(nodes)! < 1) {
    throw new NovaRaise('InvalidNUMANodesNumber', `The property 'numa_nodes' cannot be '${pythonStr(nodes)}'. It must be a number greater than 0`);
  }
  return pythonInt(nodes);
}

/** _get_numa_pagesize_constraint: the image may only refine a flavor `large`/`any`. */
function pageSizeOf(flavor: string | undefined, image: string | null): number | null {
  const parse = (request: string): number => {
    if (request in MEMPAGES) return MEMPAGES[request as keyof typeof MEMPAGES];
    if (/^\d+$/.test(request)) return Number(request);
    const bytes = stringToBytes(request);
    if (bytes === null) throw new NovaRaise('MemoryPageSizeInvalid', `Invalid memory page size '${request}'`);
    // bytes / units.Ki: a float here (its truthiness decides below); the cell's IntegerField truncates it.
    return bytes / 1024;
  };
  if (!flavor && image) throw new NovaRaise('MemoryPageSizeForbidden', `Page size ${image} forbidden against '<empty>'`);
  if (!flavor) return null;
  const size = parse(flavor);
  if (image && (size === MEMPAGES.any || size === MEMPAGES.large)) return parse(image);
  if (image) throw new NovaRaise('MemoryPageSizeForbidden', `Page size ${image} forbidden against '${flavor}'`);
  return size;
}

/** get_locked_memory_constraint: locked memory needs a page size, and flavor and image must agree. */
function checkLockedMemory(specs: Record<string, string>, image: ImageProps): void {
  let locked = image.lockedMemory;
  if (specs['hw:locked_memory'] !== undefined) {
    const f = boolFromString(specs['hw:locked_memory']);
    if (image.lockedMemory !== null && f !== image.lockedMemory) {
      throw new NovaRaise(
        'FlavorImageLockedMemoryConflict',
        `locked_memory value in image (${pythonStr(image.lockedMemory)}) and flavor (${pythonStr(f)}) conflict. A consistent value is expected if both specified.`,
      );
    }
    locked = f;
  }
  if (locked && !(specs['hw:mem_page_size'] || image.pageSize)) {
    throw new NovaRaise('LockMemoryForbidden', 'locked_memory value in image or flavor is forbidden when mem_page_size is not set.');
  }
}

/** Flavor `hw:numa_cpus.N` / `hw:numa_mem.N` read until the first missing N, or the image's. */
function perNodeOf<T>(specs: Record<string, string>, key: string, parse: (v: string) => T, image: T[] | null): T[] | null {
  const fromFlavor: T[] = [];
  for (let i = 0; i < NUMA_NODES_MAX && specs[`hw:${key}.${i}`] !== undefined; i++) fromFlavor.push(parse(specs[`hw:${key}.${i}`]!));
  if (!fromFlavor.length) return image;
  if (image !== null)
    throw new NovaRaise('ImageNUMATopologyForbidden', `Image property 'hw_${key}' is not permitted to override NUMA configuration set against the flavor`);
  return fromFlavor;
}

type BareCell = Pick<NovaInstanceCell, 'id' | 'cpuset' | 'pcpuset' | 'memory'>;

const sorted = (xs: Iterable<number>) => [...xs].sort((a, b) => a - b);

/** _get_numa_topology_auto: equal contiguous vCPU ranges and equal memory per node. */
function autoCells(nodes: number, vcpus: number, memory: number, pinned: Set<number>): BareCell[] {
  if (vcpus % nodes > 0 || memory % nodes > 0) {
    throw new NovaRaise(
      'ImageNUMATopologyAsymmetric',
      'Instance CPUs and/or memory cannot be evenly distributed across instance NUMA nodes. Explicit assignment of CPUs and memory to nodes is required',
    );
  }
  const per = vcpus / nodes;
  return Array.from({ length: nodes }, (_, node) => {
    const cpus = Array.from({ length: per }, (_, i) => node * per + i);
    return { id: node, cpuset: cpus.filter((c) => !pinned.has(c)), pcpuset: cpus.filter((c) => pinned.has(c)), memory: memory / nodes };
  });
}

/** _get_numa_topology_manual: every vCPU exactly once, memory adding up to the flavor's. */
function manualCells(nodes: number, vcpus: number, memory: number, pinned: Set<number>, cpuList: PySet[], memList: number[]): BareCell[] {
  const avail = new Set(Array.from({ length: vcpus }, (_, i) => i));
  let total = 0;
  const cells: BareCell[] = [];
  for (let node = 0; node < nodes; node++) {
    // Walked in CPython set order: it decides whether "out of range" or "duplicate" is reported.
    const cpus = cpuList[node]!.values();
    for (const cpu of cpus) {
      if (cpu > vcpus - 1) throw new NovaRaise('ImageNUMATopologyCPUOutOfRange', `CPU number ${cpu} is larger than max ${vcpus - 1}`);
      if (!avail.has(cpu)) throw new NovaRaise('ImageNUMATopologyCPUDuplicates', `CPU number ${cpu} is assigned to two nodes`);
      avail.delete(cpu);
    }
    const set = sorted(cpus);
    cells.push({ id: node, cpuset: set.filter((c) => !pinned.has(c)), pcpuset: set.filter((c) => pinned.has(c)), memory: memList[node]! });
    total += memList[node]!;
  }
  // set(range(n)) iterates in ascending order, so Python prints the rest sorted.
  if (avail.size) throw new NovaRaise('ImageNUMATopologyCPUsUnassigned', `CPU number ${formatPySet(sorted(avail))} is not assigned to any node`);
  if (total !== memory) throw new NovaRaise('ImageNUMATopologyMemoryOutOfRange', `${total} MB of memory assigned, but expected ${memory} MB`);
  return cells;
}

function constraintsOrRaise(req: NovaFlavorRequest): NovaInstance | null {
  const { vcpus, memory_mb: memory } = req;
  // Nova's flavor extra specs are strings; numbers in JSON input are read as Python would print them.
  const specs: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.flavor_extra_specs ?? {})) if (v !== undefined && v !== null) specs[k] = pythonStr(v);
  const image = readImage(req.image_properties ?? {});

  let cpuPolicy = cpuPolicyOf(specs['hw:cpu_policy'], image.cpuPolicy);
  let threadPolicy = threadPolicyOf(specs['hw:cpu_thread_policy'], image.threadPolicy);
  const realtime = realtimeCpusOf(specs, image, vcpus);
  let dedicated = dedicatedCpusOf(specs, vcpus);
  const emulator = emulatorPolicyOf(specs);

  // Explicit placement resources and the hyperthreading trait (notes §1.1 "Other request rules").
  const res = resourcesOf(specs);
  if (cpuPolicy && (res.vcpu || res.pcpu)) {
    throw new NovaRaise(
      'InvalidRequest',
      "It is not possible to use the 'resources:VCPU' or 'resources:PCPU' extra specs in combination with the 'hw:cpu_policy' extra spec or 'hw_cpu_policy' image metadata property; use one or the other",
    );
  }
  if (res.vcpu && res.pcpu)
    throw new NovaRaise('InvalidRequest', "It is not possible to specify both 'resources:VCPU' and 'resources:PCPU' extra specs; use one or the other");
  if (res.pcpu) {
    if (emulator === 'isolate' && vcpus + 1 !== res.pcpu) {
      throw new NovaRaise(
        'InvalidRequest',
        "You have requested 'hw:emulator_threads_policy=isolate' but have not requested sufficient PCPUs to handle this policy; you must allocate exactly flavor.vcpus + 1 PCPUs.",
      );
    }
    if (emulator !== 'isolate' && vcpus !== res.pcpu) {
      throw new NovaRaise(
        'InvalidRequest',
        "There is a mismatch between the number of PCPUs requested via 'resourcesNN:PCPU' and the flavor); you must allocate exactly flavor.vcpus PCPUs",
      );
    }
    cpuPolicy = 'dedicated';
  }
  if (res.vcpu) cpuPolicy = 'shared';

  const trait = hyperthreadingTraitOf(specs, image);
  if (threadPolicy && trait) {
    throw new NovaRaise(
      'InvalidRequest',
      "It is not possible to use the 'trait:HW_CPU_HYPERTHREADING' extra spec in combination with the 'hw:cpu_thread_policy' extra spec or 'hw_cpu_thread_policy' image metadata property; use one or the other",
    );
  }
  if (trait === 'forbidden') threadPolicy = 'isolate';
  else if (trait === 'required') threadPolicy = 'require';

  if (cpuPolicy === 'shared' || cpuPolicy === null) {
    if (threadPolicy) throw new NovaRaise('CPUThreadPolicyConfigurationInvalid', 'Cannot set cpu thread pinning policy in a non dedicated cpu pinning policy');
    if (emulator === 'isolate')
      throw new NovaRaise('BadRequirementEmulatorThreadsPolicy', 'An isolated CPU emulator threads option requires a dedicated CPU policy option.');
    if (dedicated) throw new NovaRaise('RequiredMixedInstancePolicy', "Cannot specify 'hw:cpu_dedicated_mask' without the 'mixed' policy.");
    if (realtime) throw new NovaRaise('RealtimeConfigurationInvalid', 'Cannot set realtime policy in a non dedicated cpu pinning policy');
  } else if (cpuPolicy === 'dedicated') {
    if (dedicated) throw new NovaRaise('RequiredMixedInstancePolicy', "Cannot specify 'hw:cpu_dedicated_mask' without the 'mixed' policy.");
  } else {
    if ((realtime && dedicated) || !(realtime || dedicated)) {
      throw new NovaRaise(
        'RequiredMixedOrRealtimeCPUMask',
        "Dedicated CPU set can be specified from either 'hw:cpu_dedicated_mask' or 'hw:cpu_realtime_mask' when using 'mixed' CPU policy. 'hw:cpu_dedicated_mask' and 'hw:cpu_realtime_mask' can not be specified at the same time, or be specified with none of them.",
      );
    }
    // With mixed + realtime, the realtime vCPUs are the pinned ones.
    dedicated = dedicated ?? realtime;
  }

  const nodes = nodeCountOf(specs['hw:numa_nodes'], image.numaNodes);
  const pageSize = pageSizeOf(specs['hw:mem_page_size'], image.pageSize);
  const vpmems = (specs['hw:pmem'] ?? '').split(',').filter((l) => l.trim());
  checkLockedMemory(specs, image);

  const pinned = cpuPolicy === 'dedicated' ? new Set(Array.from({ length: vcpus }, (_, i) => i)) : (dedicated ?? new Set<number>());
  // A guest gets a NUMA topology when it asks for nodes, a page size (even `small`: -1), vPMEM,
  // or pinning (notes §1.2); otherwise Nova returns None and the guest floats.
  if (!(nodes || pageSize || vpmems.length || cpuPolicy === 'dedicated' || cpuPolicy === 'mixed')) return null;

  const count = nodes || 1;
  const cpuList = perNodeOf(specs, 'numa_cpus', (v) => parseNovaCpuSpec(v), image.numaCpus);
  const memList = perNodeOf(
    specs,
    'numa_mem',
    (v) => {
      const n = pythonInt(v);
      if (n === null) throw new NovaRaise('ValueError', `invalid literal for int() with base 10: ${pythonRepr(v)}`);
      return n;
    },
    image.numaMem,
  );
  let cells: BareCell[];
  if (cpuList === null && memList === null) cells = autoCells(count, vcpus, memory, pinned);
  else if (cpuList !== null && memList !== null && cpuList.length === count && memList.length === count)
    cells = manualCells(count, vcpus, memory, pinned, cpuList, memList);
  else throw new NovaRaise('ImageNUMATopologyIncomplete', 'CPU and memory allocation must be provided for all NUMA nodes');

  // The policies and page size are stored per cell (all equal); the emulator policy once.
  if (threadPolicy === '') throw new NovaRaise('ValueError', 'Field value  is invalid');
  return {
    cells: cells.map((c) => ({
      ...c,
      pagesize: pageSize === null ? null : Math.trunc(pageSize),
      cpu_policy: cpuPolicy,
      cpu_thread_policy: threadPolicy as NovaThreadPolicy,
    })),
    emulator_threads_policy: emulator,
  };
}

/**
 * Read a flavor request: a `constraints` line of pinning-cases.jsonl (`vcpus`, `memory_mb`,
 * `flavor_extra_specs`, `image_properties`) or a Nova flavor (`extra_specs` for the specs).
 * Throws E_BAD_INPUT naming the bad field.
 */
export function parseNovaFlavorRequest(v: unknown): NovaFlavorRequest {
  const bad = (field: string, why: string): never => {
    throw new KvcpuError('E_BAD_INPUT', `Nova flavor: ${field} ${why}`, {
      hint: 'give {"vcpus":N,"memory_mb":MiB,"flavor_extra_specs":{...},"image_properties":{...}} as nova.virt.hardware.numa_get_constraints takes them)',
    });
  };
  if (!v || typeof v !== 'object' || Array.isArray(v)) bad('case', 'must be a JSON object');
  const o = v as Record<string, unknown>;
  const int = (k: string, min: number): number => {
    const n = o[k];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min) bad(k, `must be an integer ≥ ${min} (got ${JSON.stringify(n)})`);
    return n as number;
  };
  const dict = (k: string): Record<string, unknown> | undefined => {
    const d = o[k];
    if (d === undefined || d === null) return undefined;
    if (typeof d !== 'object' || Array.isArray(d)) bad(k, 'must be an object');
    return d as Record<string, unknown>;
  };
  return {
    vcpus: int('vcpus', 1),
    memory_mb: int('memory_mb', 0),
    flavor_extra_specs: dict('flavor_extra_specs') ?? dict('extra_specs') ?? {},
    image_properties: dict('image_properties') ?? {},
  };
}

/** numa_get_constraints for one flavor (+ image): the guest NUMA request, or Nova's refusal. */
export function getNovaNumaConstraints(req: NovaFlavorRequest): NovaConstraintsAnswer {
  try {
    return { instance: constraintsOrRaise(req) };
  } catch (e) {
    if (e instanceof NovaRaise) return { error: e.cls, message: e.message };
    throw e;
  }
}
