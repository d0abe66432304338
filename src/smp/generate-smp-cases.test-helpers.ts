import { mulberry32 } from '../core/seeded-random.ts';

/** Re-exported: generated -smp cases are reproducible from a seed. */
export { mulberry32 };

export interface SmpCase {
  smp: string;
  machine: string;
}

const MACHINES = [
  'q35',
  'pc',
  'pc-q35-7.2',
  'pc-i440fx-7.2',
  'pc-q35-6.1',
  'pc-i440fx-6.1',
  'pc-q35-6.2',
  'pc-q35-7.0',
  'pc-q35-2.7',
  'microvm',
  'isapc',
  'none',
];
const SMALL = [1, 1, 2, 2, 2, 3, 4, 4, 6, 8, 12, 16];

/**
 * Random `-smp` specs for QEMU 7.2 x86: mostly plausible topologies (some hot-plug, some
 * over-constrained), plus zeros, unsupported levels, limits, bad integers and keyval syntax
 * errors. Meant as input for the real-QEMU oracle (test/e2e/smp-verify.test.ts).
 */
export function generateSmpCases(rand: () => number, n: number): SmpCase[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const out: SmpCase[] = [];
  for (let i = 0; i < n; i++) {
    const machine = rand() < 0.6 ? pick(MACHINES.slice(0, 3)) : pick(MACHINES);
    const kind = rand();
    const parts: string[] = [];
    if (kind < 0.7) {
      // Plausible: each member given with some probability.
      const sockets = pick(SMALL.slice(0, 8));
      const dies = pick([1, 1, 1, 2]);
      const cores = pick(SMALL);
      const threads = pick([1, 1, 2, 2, 4]);
      const max = sockets * dies * cores * threads;
      // TCG creates every present vCPU thread (~0.1 s each on 2 host CPUs): keep big guests mostly hot-pluggable.
      const cpus = rand() < 0.3 ? Math.max(1, Math.floor(rand() * max)) : max;
      const legacy = rand() < 0.3;
      if (legacy) parts.push(String(cpus));
      else if (rand() < 0.6) parts.push(`cpus=${cpus}`);
      if (rand() < 0.5) parts.push(`sockets=${sockets}`);
      if (rand() < 0.25) parts.push(`dies=${dies}`);
      if (rand() < 0.5) parts.push(`cores=${cores}`);
      if (rand() < 0.4) parts.push(`threads=${threads}`);
      if (rand() < 0.3) parts.push(`maxcpus=${rand() < 0.8 ? max : max + pick([-1, 1, 2])}`);
      if (rand() < 0.05) parts.push(`clusters=${pick([1, 2])}`);
      if (rand() < 0.05) parts.push(`${pick(['sockets', 'cores', 'threads', 'dies', 'maxcpus', 'cpus'])}=0`);
      if (max > 16) {
        // TCG creates every present vCPU thread: big guests get few present vCPUs (the rest hot-pluggable).
        const keep = parts.filter((p) => !/^\d|^cpus=/.test(p));
        parts.length = 0;
        parts.push(`cpus=${1 + Math.floor(rand() * 8)}`, ...keep);
      }
      if (rand() < 0.2) {
        // shuffle the keyed members (order does not matter to QEMU, except the bare first one)
        const head = legacy ? parts.splice(0, 1) : [];
        parts.sort(() => rand() - 0.5);
        parts.unshift(...head);
      }
    } else if (kind < 0.8) {
      // Limits: big counts around 255/288 (as maxcpus with few present vCPUs, see above).
      parts.push(`${pick([1, 2])}`, `maxcpus=${pick([200, 240, 254, 255, 256, 288, 289, 300])}`);
      if (rand() < 0.5) parts.push(`sockets=${pick([1, 2, 3, 4, 5])}`);
      if (rand() < 0.3) parts.push(`threads=${pick([1, 2])}`);
    } else if (kind < 0.9) {
      // Bad integers and unknown keys.
      parts.push(
        pick([
          'four',
          '4.0',
          '0x10',
          '010',
          '08',
          '+4',
          ' 4',
          '1e3',
          '0x',
          'cpus=',
          'cpus=4,foo=1',
          'socket=2',
          'Sockets=2',
          'books=1',
          'modules=2',
          'cpus.x=1',
          'cpus=4,cpus=8',
          '4,cpus=2',
        ]),
      );
    } else {
      // keyval syntax errors and oddities.
      parts.push(
        pick([
          '4,,x=1',
          '4,2',
          'sockets=2,cores',
          ',4',
          '=4',
          '4,',
          '',
          'sockets=2,,cores=2',
          '4;sockets=2',
          'x.1=2',
          '4,help',
          'a'.repeat(130) + '=1',
          '_x=1',
        ]),
      );
    }
    out.push({ smp: parts.join(','), machine });
  }
  return out;
}
