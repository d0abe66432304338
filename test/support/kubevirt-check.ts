/**
 * KubeVirt's own acceptance of a VirtualMachineInstance, for tests: the v1.9.0 OpenAPI schema
 * (test/fixtures/kubevirt/swagger.json, see its README) through ajv with every object closed
 * (the API server's strict field validation refuses unknown fields), plus the admission rules of
 * pkg/virt-api/webhooks/validating-webhook/admitters/vmi-create-admitter.go (v1.9.0) that touch
 * CPU, memory, NUMA and machine — each check names the Go function it follows. The cluster
 * config is KubeVirt's default (virt-config.go: emulated machines q35*,pc-q35* / virt* /
 * s390-ccw-virtio*) with the NUMA feature gate on (guestMappingPassthrough needs it).
 */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';

type Json = Record<string, unknown>;

function closeObjects(node: unknown): void {
  if (Array.isArray(node)) {
    node.forEach(closeObjects);
    return;
  }
  if (!node || typeof node !== 'object') return;
  const o = node as Json;
  if (o.properties && typeof o.properties === 'object' && o.additionalProperties === undefined) o.additionalProperties = false;
  for (const v of Object.values(o)) closeObjects(v);
}

let validateSchema: (((d: unknown) => boolean) & { errors?: unknown[] | null }) | undefined;

function schemaValidator() {
  if (validateSchema) return validateSchema;
  const swagger = JSON.parse(readFileSync(new URL('../fixtures/kubevirt/swagger.json', import.meta.url), 'utf8')) as { definitions: Json };
  const definitions = structuredClone(swagger.definitions);
  closeObjects(definitions);
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  validateSchema = ajv.compile({ $ref: '#/definitions/v1.VirtualMachineInstance', definitions });
  return validateSchema;
}

/** k8s resource.Quantity → bytes (binary and decimal SI suffixes). */
export function quantity(q: unknown): number {
  if (q === undefined || q === null) return 0;
  if (typeof q === 'number') return q;
  const m = /^([+-]?\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$/.exec(String(q));
  if (!m) return NaN;
  const mult: Record<string, number> = {
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    Pi: 2 ** 50,
    Ei: 2 ** 60,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    P: 1e15,
    E: 1e18,
  };
  return Number(m[1]) * (m[2] ? mult[m[2]]! : 1);
}

const MACHINES: Record<string, RegExp> = { amd64: /^(q35|pc-q35)/, arm64: /^virt/, s390x: /^s390-ccw-virtio/ };

/** The admission causes KubeVirt v1.9.0 would return (empty = admitted). */
export function admitVmi(doc: Json): string[] {
  const causes: string[] = [];
  const spec = (doc.spec ?? {}) as Json;
  const domain = (spec.domain ?? {}) as Json;
  const cpu = (domain.cpu ?? undefined) as Json | undefined;
  const memory = (domain.memory ?? undefined) as Json | undefined;
  const res = (domain.resources ?? {}) as { requests?: Json; limits?: Json };
  const reqMem = quantity(res.requests?.memory);
  const limMem = quantity(res.limits?.memory);
  const reqCpu = quantity(res.requests?.cpu);
  const limCpu = quantity(res.limits?.cpu);
  const guest = quantity(memory?.guest);
  const hugepages = memory?.hugepages as Json | undefined;
  const arch = String(spec.architecture ?? 'amd64');
  // ValidateVirtualMachineInstancePerArch
  if (!MACHINES[arch]) causes.push(`unsupported architecture: ${arch}`);
  // ValidateVirtualMachineInstanceMandatoryFields
  if (reqMem === 0 && (!memory || (memory.guest === undefined && hugepages === undefined))) causes.push('no memory requested');
  // validateMemoryLimitsNegativeOrNull
  if (limMem > 0 && reqMem > limMem) causes.push('requests.memory is greater than limits.memory');
  // validateHugepagesMemoryRequests
  if (hugepages) {
    const page = quantity(hugepages.pageSize);
    const vm = reqMem || guest || limMem;
    if (!Number.isFinite(page) || page <= 0) causes.push(`hugepages.pageSize '${String(hugepages.pageSize)}'`);
    else if (vm !== 0 && vm < page) causes.push('memory below the hugepage size');
    else if (vm % page !== 0) causes.push('memory is not a multiple of the hugepage size');
  }
  // validateGuestMemoryLimit
  if (memory?.guest !== undefined && limMem !== 0 && limMem < guest) causes.push('memory.guest exceeds limits.memory');
  // validateEmulatedMachine
  const machine = (domain.machine as Json | undefined)?.type as string | undefined;
  if (machine && MACHINES[arch] && !MACHINES[arch]!.test(machine)) causes.push(`machine.type is not supported: ${machine}`);
  // validateCpuRequestDoesNotExceedLimit
  if (limCpu > 0 && reqCpu > limCpu) causes.push('requests.cpu is greater than limits.cpu');
  const vcpus = cpu ? Number(cpu.sockets ?? 1) * Number(cpu.cores ?? 1) * Number(cpu.threads ?? 1) : 0;
  // validateCpuPinning
  if (cpu?.dedicatedCpuPlacement) {
    if (limMem === 0 && reqMem === 0 && !hugepages && guest === 0) causes.push('dedicated: memory must be provided (validateMemoryIsProvided)');
    if (reqCpu > 0 && !Number.isInteger(reqCpu)) causes.push('requests.cpu must be an integer');
    if (limCpu > 0 && !Number.isInteger(limCpu)) causes.push('limits.cpu must be an integer');
    if (reqMem > 0 && limMem > 0 && reqMem !== limMem) causes.push('requests.memory must be equal to limits.memory');
    if (reqCpu === 0 && limCpu === 0 && vcpus === 0) causes.push('cpu requests/limits or cores must be provided');
    if (reqCpu > 0 && limCpu > 0 && reqCpu !== limCpu) causes.push('requests.cpu and limits.cpu must be equal');
    if ((reqCpu > 0 || limCpu > 0) && vcpus > 0 && reqCpu !== vcpus && limCpu !== vcpus) causes.push('cpu requests/limits must not be given with cores');
    if (Number(cpu.threads ?? 1) > 1 && arch === 'arm64') causes.push('threads must not be greater than 1 on arm64');
    if (Number(cpu.threads ?? 1) > 2) causes.push('not more than two threads with dedicatedCpuPlacement');
  }
  // validateNUMA (NUMA feature gate on)
  const numa = cpu?.numa as Json | undefined;
  if (numa?.guestMappingPassthrough !== undefined) {
    if (!cpu?.dedicatedCpuPlacement) causes.push('guestMappingPassthrough needs dedicatedCpuPlacement');
    if (!hugepages) causes.push('guestMappingPassthrough needs hugepages');
  }
  // validateCPUIsolatorThread
  if (cpu?.isolateEmulatorThread && !cpu.dedicatedCpuPlacement) causes.push('isolateEmulatorThread needs dedicatedCpuPlacement');
  // validateCPUHotplug
  if (cpu && Number(cpu.maxSockets ?? 0) !== 0 && Number(cpu.sockets ?? 1) > Number(cpu.maxSockets)) causes.push('sockets greater than maxSockets');
  return causes;
}

/** Schema errors (closed objects) for a VMI document. */
export function schemaErrors(doc: unknown): string[] {
  const v = schemaValidator();
  if (v(doc)) return [];
  return (v.errors ?? []).map((e) => JSON.stringify(e));
}
