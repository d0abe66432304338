import type { RegisterCommand } from '../command-kit.ts';

// Each CLI module is imported only when needed: `kvcpu host` loads the host module alone (its
// capability's dependencies, not zod/XML/YAML/QMP of every other command), which keeps the
// start-up of a single command close to node's own. `--help`, a typo or `help X` load them all.
const modules = {
  report: async () => (await import('./report.ts')).registerReport,
  host: async () => (await import('./host.ts')).registerHost,
  capture: async () => (await import('./capture.ts')).registerCapture,
  check: async () => (await import('./check.ts')).registerCheck,
  smp: async () => (await import('./smp.ts')).registerSmp,
  topology: async () => (await import('./topology.ts')).registerTopology,
  models: async () => (await import('./models.ts')).registerModels,
  cpu: async () => (await import('./cpu.ts')).registerCpu,
  ps: async () => (await import('./ps.ts')).registerPs,
  top: async () => (await import('./top.ts')).registerTop,
  pin: async () => (await import('./pin.ts')).registerPin,
  overcommit: async () => (await import('./overcommit.ts')).registerOvercommit,
  hotplug: async () => (await import('./hotplug.ts')).registerHotplug,
  launch: async () => (await import('./launch.ts')).registerLaunch,
  plan: async () => (await import('./plan.ts')).registerPlan,
  fleet: async () => (await import('./fleet.ts')).registerFleet,
  serve: async () => (await import('./serve.ts')).registerServe,
  traits: async () => (await import('./traits.ts')).registerTraits,
  labels: async () => (await import('./labels.ts')).registerLabels,
} satisfies Record<string, () => Promise<RegisterCommand>>;

type ModuleName = keyof typeof modules;

/** Commands registered by another command's module (pin.ts adds unpin, launch.ts adds stop). */
const hostedBy: Record<string, ModuleName> = { unpin: 'pin', stop: 'launch' };

/** The module that registers top-level command `name`, or undefined for an unknown name. */
export function moduleFor(name: string): ModuleName | undefined {
  if (Object.hasOwn(modules, name)) return name as ModuleName;
  return hostedBy[name];
}

/**
 * The register functions of every CLI module in `kvcpu --help` order, or only the one that
 * serves command `name` when it is known.
 */
export async function loadCommands(name?: string): Promise<RegisterCommand[]> {
  const one = name === undefined ? undefined : moduleFor(name);
  if (one) return [await modules[one]()];
  return Promise.all(Object.values(modules).map((load) => load()));
}
