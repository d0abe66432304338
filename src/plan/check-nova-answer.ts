/**
 * Independent validity checker for Nova-shaped answers (used by tests, and by
 * `kvcpu plan nova --check`). Written from the rules in ../shared/notes/nova-algorithms.md, NOT
 * from the planner: it shares no code with pack-nova-cell.ts / fit-nova-*.ts, so a planner bug
 * cannot hide behind a shared helper. It checks that a placement satisfies every constraint;
 * it does not check that a "no fit" is right (tests compare those with Nova's verdicts).
 */

interface HostCellIn {
  id: number;
  cpuset: number[];
  pcpuset?: number[];
  siblings?: number[][];
  memory: number;
  memory_usage?: number;
  cpu_usage?: number;
  pinned_cpus?: number[];
  mempages?: { size_kb: number; total: number; used?: number; reserved?: number }[];
  network_metadata?: { physnets?: string[]; tunneled?: boolean } | null;
}
interface InstCellIn {
  cpuset?: number[];
  pcpuset?: number[];
  memory: number;
  pagesize?: number | null;
  cpu_policy?: string | null;
  cpu_thread_policy?: string | null;
}
interface CaseIn {
  kind?: string;
  host?: { cells: HostCellIn[] };
  instance?: { cells: InstCellIn[]; emulator_threads_policy?: string | null };
  host_cell?: HostCellIn;
  instance_cell?: InstCellIn;
  cpuset_reserved?: number;
  limits?: { cpu_allocation_ratio?: number; ram_allocation_ratio?: number; network_metadata?: { physnets?: string[]; tunneled?: boolean } | null } | null;
}
interface AnswerIn {
  fits: boolean;
  cells?: { instance_cell: number; host_cell: number; pinning: [number, number][] | null; cpuset_reserved: number[] | null; pagesize?: number | null }[];
}

export interface CheckOptions {
  /** Check pinned memory against free small pages (Nova ≥ 30, bug 1811886). Default true. */
  freeSmallPages?: boolean;
  /** Require the isolate guest's emulator CPU to sit on a fully free core. Default true. */
  isolateEmulatorWholeCore?: boolean;
}

/** Returns the list of violated constraints (empty = valid). */
export function checkNovaAnswer(caseIn: unknown, answerIn: unknown, opts: CheckOptions = {}): string[] {
  const c = caseIn as CaseIn;
  const a = answerIn as AnswerIn;
  const errs: string[] = [];
  if (!a.fits) return a.cells && a.cells.length ? ['fits=false but cells given'] : [];
  const hostCells = c.kind === 'fit_cell' || c.host_cell ? [c.host_cell!] : c.host!.cells;
  const instCells = c.kind === 'fit_cell' || c.instance_cell ? [c.instance_cell!] : c.instance!.cells;
  const emuIsolate = c.kind === 'fit_cell' || c.host_cell ? (c.cpuset_reserved ?? 0) > 0 : c.instance!.emulator_threads_policy === 'isolate';
  const cells = a.cells ?? [];
  if (cells.length !== instCells.length) return [`${cells.length} cells answered for ${instCells.length} guest cells`];
  const usedHosts = new Set<number>();
  for (let i = 0; i < cells.length; i++) {
    const ans = cells[i]!;
    const where = `guest cell ${i}`;
    if (ans.instance_cell !== i) errs.push(`${where}: instance_cell is ${ans.instance_cell}`);
    const host = hostCells.find((h) => h.id === ans.host_cell);
    if (!host) {
      errs.push(`${where}: host cell ${ans.host_cell} does not exist`);
      continue;
    }
    if (usedHosts.has(host.id)) errs.push(`${where}: host cell ${host.id} already holds another guest cell`);
    usedHosts.add(host.id);
    const ic = instCells[i]!;
    const policy = ic.cpu_policy ?? 'shared';
    const pinnedPolicy = policy === 'dedicated' || policy === 'mixed';
    const floats = ic.cpuset ?? [];
    const wantPinned = ic.pcpuset ?? [];
    const hostP = new Set(host.pcpuset ?? host.cpuset);
    const already = new Set(host.pinned_cpus ?? []);
    const groupOf = new Map<number, number[]>();
    for (const g of host.siblings ?? []) for (const x of g) groupOf.set(x, g);
    const reservedWanted = emuIsolate && i === 0 ? 1 : 0;
    const guestCpus: number[] = [];
    if (!pinnedPolicy) {
      if (ans.pinning && ans.pinning.length) errs.push(`${where}: shared cell has a pinning`);
      if (ans.cpuset_reserved && ans.cpuset_reserved.length) errs.push(`${where}: shared cell reserves CPUs`);
    } else {
      const pin = ans.pinning ?? [];
      const vs = pin.map(([v]) => v).sort((x, y) => x - y);
      const want = [...wantPinned].sort((x, y) => x - y);
      if (vs.join(',') !== want.join(',')) errs.push(`${where}: pinned vCPUs ${vs.join(',')} != requested ${want.join(',')}`);
      for (const [v, p] of pin) {
        if (!hostP.has(p)) errs.push(`${where}: vCPU ${v} on CPU ${p}, outside the cell's dedicated set`);
        if (already.has(p)) errs.push(`${where}: vCPU ${v} on CPU ${p}, already pinned by another guest`);
        guestCpus.push(p);
      }
      const res = ans.cpuset_reserved ?? [];
      if (res.length !== reservedWanted) errs.push(`${where}: ${res.length} emulator CPUs reserved, ${reservedWanted} wanted`);
      for (const p of res) {
        if (!hostP.has(p)) errs.push(`${where}: emulator CPU ${p} outside the dedicated set`);
        if (already.has(p)) errs.push(`${where}: emulator CPU ${p} already pinned`);
        guestCpus.push(p);
      }
      if (new Set(guestCpus).size !== guestCpus.length) errs.push(`${where}: one CPU given twice (${guestCpus.join(',')})`);
      if (wantPinned.length + reservedWanted > hostP.size) errs.push(`${where}: more dedicated CPUs than the cell has`);
      const tp = ic.cpu_thread_policy ?? 'prefer';
      const perCore = new Map<number[], number>();
      for (const [, p] of pin) {
        const g = groupOf.get(p) ?? [p];
        perCore.set(g, (perCore.get(g) ?? 0) + 1);
      }
      const maxThreads = Math.max(1, ...(host.siblings ?? []).map((g) => g.length));
      if (tp === 'require') {
        if (maxThreads < 2) errs.push(`${where}: require on a cell without SMT`);
        const lonely = [...perCore.values()].filter((n) => n === 1).length;
        if (lonely > 1) errs.push(`${where}: require but ${lonely} cores hold a single vCPU`);
      }
      if (tp === 'isolate') {
        for (const [g, n] of perCore) {
          if (n > 1) errs.push(`${where}: isolate but core ${g.join(',')} holds ${n} vCPUs`);
          if (g.some((x) => already.has(x))) errs.push(`${where}: isolate but core ${g.join(',')} has a thread used by another guest`);
        }
        for (const p of res) {
          const g = groupOf.get(p) ?? [p];
          if (perCore.has(g)) errs.push(`${where}: isolate but emulator CPU ${p} shares a core with a vCPU`);
          if (opts.isolateEmulatorWholeCore !== false && g.some((x) => already.has(x)))
            errs.push(`${where}: isolate but emulator CPU ${p}'s core is partly used (the claim would fail)`);
        }
        if (maxThreads > 1 && host.pcpuset && !sameSet(host.pcpuset, host.cpuset)) errs.push(`${where}: isolate on an SMT host with cpu_dedicated_set`);
      }
    }
    if (floats.length > host.cpuset.length) errs.push(`${where}: ${floats.length} floating vCPUs > ${host.cpuset.length} shared CPUs`);
    const lim = c.limits;
    if (!pinnedPolicy || policy === 'mixed') {
      if (lim && (host.cpu_usage ?? 0) + floats.length > host.cpuset.length * (lim.cpu_allocation_ratio ?? 16))
        errs.push(`${where}: shared CPU overcommit beyond the allocation ratio`);
      if (lim && (host.memory_usage ?? 0) + ic.memory > host.memory * (lim.ram_allocation_ratio ?? 1.5))
        errs.push(`${where}: memory beyond the RAM allocation ratio`);
    }
    // Memory and page sizes.
    const pages = host.mempages ?? [];
    const kib = ic.memory * 1024;
    if (ic.pagesize) {
      const ps = ans.pagesize;
      const sizes = pages.map((p) => p.size_kb).sort((x, y) => x - y);
      const pool = pages.find((p) => p.size_kb === ps);
      if (!ps || !pool) errs.push(`${where}: page size ${ps} not offered by the host cell`);
      else {
        if (ic.pagesize === -1 && ps !== sizes[0]) errs.push(`${where}: small pages requested, got ${ps} KiB`);
        if (ic.pagesize === -2 && ps === sizes[0]) errs.push(`${where}: large pages requested, got the smallest`);
        if (ic.pagesize > 0 && ps !== ic.pagesize) errs.push(`${where}: ${ic.pagesize} KiB pages requested, got ${ps}`);
        const freeKib = (pool.total - (pool.used ?? 0) - (pool.reserved ?? 0)) * pool.size_kb;
        if (kib > freeKib || kib % pool.size_kb !== 0) errs.push(`${where}: ${ic.memory} MiB does not fit the free ${ps} KiB pages`);
      }
    } else if (pinnedPolicy) {
      if (pages.length && opts.freeSmallPages !== false) {
        const small = pages.reduce((m, p) => (p.size_kb < m.size_kb ? p : m));
        if (kib > (small.total - (small.used ?? 0) - (small.reserved ?? 0)) * small.size_kb) errs.push(`${where}: pinned memory beyond the free small pages`);
      } else if (ic.memory > host.memory - (host.memory_usage ?? 0)) errs.push(`${where}: pinned memory beyond the cell's free memory`);
    } else if (!pages.length && ic.memory > host.memory) errs.push(`${where}: memory beyond the cell's memory`);
  }
  // Network NUMA affinity.
  const nm = c.limits?.network_metadata;
  if (nm && c.host) {
    const chosen = c.host.cells.filter((h) => usedHosts.has(h.id));
    for (const net of nm.physnets ?? []) {
      const somewhere = c.host.cells.some((h) => (h.network_metadata?.physnets ?? []).includes(net));
      const covered = chosen.some((h) => (h.network_metadata?.physnets ?? []).includes(net));
      if (somewhere && !covered) errs.push(`physnet ${net} has NUMA affinity but no chosen cell provides it`);
    }
    if (nm.tunneled && c.host.cells.some((h) => h.network_metadata?.tunneled) && !chosen.some((h) => h.network_metadata?.tunneled)) {
      errs.push('tunneled network has NUMA affinity but no chosen cell provides it');
    }
  }
  return errs;
}

function sameSet(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
