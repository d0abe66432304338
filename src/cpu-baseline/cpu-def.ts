/**
 * A CPU definition as libvirt models it (virCPUDef): an optional named model plus features with
 * policies. Host CPUs (capabilities, kvcpu host reports, /proc/cpuinfo) list what the CPU has;
 * guest CPUs (domain XML, baseline results) say what to require/disable on top of the model.
 */
export type FeaturePolicy = 'require' | 'force' | 'optional' | 'disable' | 'forbid';

export interface CpuFeatureRef {
  /** libvirt feature name. */
  name: string;
  /** Host-format features have no policy in XML; they count as `require` (libvirt: policy -1). */
  policy: FeaturePolicy;
}

/** Which vocabulary the input used (for answering in the same names). */
export type CpuInputKind = 'libvirt-xml' | 'host-json' | 'cpuinfo' | 'model-name' | 'kvcpu-json';

export interface CpuDef {
  /** host: `<cpu>` with `<arch>` (capabilities); guest: domain/baseline format. */
  type: 'host' | 'guest';
  /** `custom`, `host-model`, `host-passthrough`, `maximum` (guest only). */
  mode: string | null;
  /** `exact`, `minimum`, `strict` (guest only; default exact). */
  match: string | null;
  arch: string | null;
  model: string | null;
  fallback: string | null;
  /** libvirt vendor name (`Intel`, `AMD`, `Hygon`), null when not given. */
  vendor: string | null;
  signature: { family: number; model: number; stepping: number | null } | null;
  features: CpuFeatureRef[];
  /** Display name: file name, `file#2` for the 2nd `<cpu>` of a file, hostname... */
  label: string;
  kind: CpuInputKind;
  /** What kvcpu could not know exactly about this input (cpuinfo is lossy). */
  notes: string[];
}

export function emptyCpuDef(label: string, kind: CpuInputKind, type: 'host' | 'guest' = 'host'): CpuDef {
  return {
    type,
    mode: null,
    match: null,
    arch: null,
    model: null,
    fallback: null,
    vendor: null,
    signature: null,
    features: [],
    label,
    kind,
    notes: [],
  };
}
