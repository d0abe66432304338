import type { RegisterCommand } from '../command-kit.ts';
import { registerHost } from './host.ts';
import { registerCapture } from './capture.ts';
import { registerCheck } from './check.ts';
import { registerReport } from './report.ts';
import { registerSmp } from './smp.ts';
import { registerTopology } from './topology.ts';
import { registerModels } from './models.ts';
import { registerCpu } from './cpu.ts';
import { registerPs } from './ps.ts';
import { registerTop } from './top.ts';
import { registerPin } from './pin.ts';
import { registerOvercommit } from './overcommit.ts';
import { registerHotplug } from './hotplug.ts';
import { registerLaunch } from './launch.ts';
import { registerPlan } from './plan.ts';

/** Every CLI module, in the order `kvcpu --help` lists them. */
export const commands: RegisterCommand[] = [
  registerReport,
  registerHost,
  registerCapture,
  registerCheck,
  registerSmp,
  registerTopology,
  registerModels,
  registerCpu,
  registerPs,
  registerTop,
  registerPin,
  registerOvercommit,
  registerHotplug,
  registerLaunch,
  registerPlan,
];
