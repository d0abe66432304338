import { formatCpulist, parseCpulist } from '../core/cpulist.ts';
import { lastParam, parseKernelCmdline, readCmdlineCpus, type CmdlineCpus } from './parse-kernel-cmdline.ts';
import type { Check, CheckFacts } from './types.ts';

/** `uname -v` is the part of /proc/version from `#<build>` on (init/version.c linux_banner). */
export function unameVersion(procVersion: string): string | null {
  const m = /(#\d+.*)$/.exec(procVersion.trim());
  return m ? m[1]!.trim() : null;
}

function safeList(text: string | null): number[] {
  if (text === null) return [];
  try {
    return parseCpulist(text);
  } catch {
    return [];
  }
}

function presentCpus(f: CheckFacts): number[] {
  const c = f.host.cpus;
  if (c.present !== null) return safeList(c.present);
  return [...new Set([...safeList(c.online), ...safeList(c.offline)])].sort((a, b) => a - b);
}

/** smp.kernel: an SMP kernel (uname -v says SMP); a UP kernel uses one CPU whatever the hardware has. */
export function checkSmpKernel(f: CheckFacts): Check {
  const id = 'smp.kernel';
  if (f.procVersion === null) return { id, status: 'SKIP', summary: '/proc/version not captured under this root', evidence: [], fix: null };
  const v = unameVersion(f.procVersion);
  const ev = [`uname -v: ${v ?? '(unreadable)'}`];
  if (v === null)
    return {
      id,
      status: 'SKIP',
      summary: 'cannot read the kernel build string from /proc/version',
      evidence: [`/proc/version: ${f.procVersion.trim()}`],
      fix: null,
    };
  if (/\bSMP\b/.test(v)) return { id, status: 'PASS', summary: 'SMP kernel', evidence: ev, fix: null };
  const n = presentCpus(f).length;
  return {
    id,
    status: n > 1 ? 'FAIL' : 'WARN',
    summary: n > 1 ? `uniprocessor kernel on a ${n}-CPU machine: only one CPU is used` : 'uniprocessor (non-SMP) kernel',
    evidence: ev,
    fix: 'boot a distribution SMP kernel (Debian: apt-get install linux-image-amd64), or build with CONFIG_SMP=y',
  };
}

/** cpus.online: every present CPU is online (offline CPUs can neither run vCPUs nor be pinned to). */
export function checkCpusOnline(f: CheckFacts): Check {
  const id = 'cpus.online';
  const c = f.host.cpus;
  const present = presentCpus(f);
  const online = safeList(c.online);
  const onlineSet = new Set(online);
  const offline = present.filter((x) => !onlineSet.has(x));
  const ev = [`present: ${c.present ?? `${formatCpulist(present)} (no present file)`}`, `online: ${c.online}`];
  if (c.possible !== null) {
    const possible = safeList(c.possible);
    if (possible.length > present.length) ev.push(`possible: ${c.possible} (${possible.length - present.length} hot-pluggable slots not present)`);
  }
  if (offline.length > 0) {
    const list = formatCpulist(offline);
    return {
      id,
      status: 'WARN',
      summary: `${offline.length} of ${present.length} present CPUs offline (${list}): no vCPU can run or be pinned there`,
      evidence: ev,
      fix: `chcpu -e ${list} (or echo 1 > /sys/devices/system/cpu/cpuN/online for each); if SMT was turned off on purpose (nosmt, smt/control=off), ignore this`,
    };
  }
  return { id, status: 'PASS', summary: `all ${present.length} present CPUs online (${formatCpulist(online)})`, evidence: ev, fix: null };
}

/** irqbalance: spreads device IRQs over CPUs (and keeps them off isolated ones); live process list only. */
export function checkIrqbalance(f: CheckFacts): Check {
  const id = 'irqbalance';
  if (f.irqbalancePids === null) return { id, status: 'SKIP', summary: 'process list not available under this root', evidence: [], fix: null };
  const online = safeList(f.host.cpus.online).length;
  if (online <= 1) {
    // irqbalance itself exits on one CPU ("Balancing is ineffective on systems with a single cpu").
    return { id, status: 'SKIP', summary: 'one online CPU: nothing to balance', evidence: [`online CPUs: ${online}`], fix: null };
  }
  if (f.irqbalancePids.length > 0) {
    return {
      id,
      status: 'PASS',
      summary: `irqbalance running (pid ${f.irqbalancePids.join(', ')})`,
      evidence: [`/proc/${f.irqbalancePids[0]}/comm: irqbalance`],
      fix: null,
    };
  }
  return {
    id,
    status: 'WARN',
    summary: 'irqbalance is not running: device interrupts stay where the kernel put them (often CPU 0), competing with vCPUs there',
    evidence: ['no process with comm "irqbalance" in /proc'],
    fix: 'apt-get install irqbalance && systemctl enable --now irqbalance (or set /proc/irq/*/smp_affinity_list by hand when you isolate CPUs for vCPUs)',
  };
}

/** "CPU 3 is" / "CPUs 2-7 are": lists read as sentences. */
function cpusAre(cpus: number[]): string {
  return cpus.length === 1 ? `CPU ${cpus[0]} is` : `CPUs ${formatCpulist(cpus)} are`;
}

function cpusDo(cpus: number[]): string {
  return cpus.length === 1 ? `CPU ${cpus[0]} does` : `CPUs ${formatCpulist(cpus)} do`;
}

function fmt(c: CmdlineCpus | null): string {
  return c === null || c.cpus === null ? '-' : formatCpulist(c.cpus);
}

function minus(a: number[], b: number[]): number[] {
  const s = new Set(b);
  return a.filter((x) => !s.has(x));
}

function sameSet(a: number[], b: number[]): boolean {
  return a.length === b.length && minus(a, b).length === 0;
}

/**
 * isolation.cmdline: isolcpus / nohz_full / rcu_nocbs / irqaffinity on the kernel cmdline agree
 * with each other and with what the kernel applied (/sys/devices/system/cpu/isolated, nohz_full).
 * Rules from Documentation/admin-guide/kernel-parameters.txt: isolcpus without flags = `domain`;
 * nohz_full CPUs are also RCU no-callback CPUs; the kernel keeps at least one housekeeping CPU.
 */
export function checkIsolationCmdline(f: CheckFacts): Check {
  const id = 'isolation.cmdline';
  if (f.cmdline === null) return { id, status: 'SKIP', summary: '/proc/cmdline not captured under this root', evidence: [], fix: null };
  const c = parseKernelCmdline(f.cmdline);
  const present = presentCpus(f);
  const possible = f.host.cpus.possible !== null ? safeList(f.host.cpus.possible) : present;
  const lastCpu = possible.length > 0 ? possible[possible.length - 1]! : null;
  const read = (name: string, isolcpus = false): CmdlineCpus | null => {
    const v = lastParam(c, name);
    return v === null ? null : readCmdlineCpus(v, { isolcpus, lastCpu });
  };
  const iso = read('isolcpus', true);
  const nohz = read('nohz_full');
  const nocb = read('rcu_nocbs');
  const irqaff = read('irqaffinity');
  const raw = [
    iso ? `isolcpus=${iso.raw}` : null,
    nohz ? `nohz_full=${nohz.raw}` : null,
    nocb ? `rcu_nocbs=${nocb.raw}` : null,
    irqaff ? `irqaffinity=${irqaff.raw}` : null,
  ].filter((x): x is string => x !== null);
  const ev = [`/proc/cmdline: ${raw.length > 0 ? raw.join(' ') : 'no isolcpus, nohz_full, rcu_nocbs or irqaffinity'}`];
  if (f.host.cpus.isolated !== null) ev.push(`/sys/devices/system/cpu/isolated: ${f.host.cpus.isolated || '(empty)'}`);
  const nohzFile = f.nohzFull !== null && f.nohzFull.trim() !== '(null)' ? f.nohzFull.trim() : f.nohzFull === null ? null : '';
  if (nohzFile !== null) ev.push(`/sys/devices/system/cpu/nohz_full: ${nohzFile || '(empty)'}`);
  if (raw.length === 0) {
    return { id, status: 'PASS', summary: 'no CPU isolation on the kernel cmdline: host and guests share every CPU', evidence: ev, fix: null };
  }
  const bad = [iso, nohz, nocb, irqaff].filter((x): x is CmdlineCpus => x !== null && x.cpus === null);
  if (bad.length > 0) {
    return {
      id,
      status: 'WARN',
      summary: `unreadable CPU list on the kernel cmdline: ${bad.map((b) => b.raw).join(', ')}`,
      evidence: [...ev, ...bad.map((b) => b.error ?? '')],
      fix: 'write plain kernel cpulists (e.g. isolcpus=domain,managed_irq,2-7 nohz_full=2-7 rcu_nocbs=2-7)',
    };
  }
  const problems: string[] = [];
  const isoFlags = iso?.flags ?? [];
  // isolcpus without flags means domain isolation only (kernel/sched/isolation.c).
  const isoCpus = iso?.cpus ?? null;
  const nohzCpus = nohz?.cpus ?? null;
  const nocbCpus = nocb?.cpus ?? null;
  if (isoCpus && nohzCpus && !sameSet(isoCpus, nohzCpus)) {
    const onlyIso = minus(isoCpus, nohzCpus);
    const onlyNohz = minus(nohzCpus, isoCpus);
    if (onlyIso.length > 0) problems.push(`${cpusAre(onlyIso)} in isolcpus but not nohz_full: they keep the scheduler tick`);
    if (onlyNohz.length > 0)
      problems.push(`${cpusAre(onlyNohz)} in nohz_full but not isolcpus: the scheduler still balances tasks onto them, so the tick rarely stops`);
  }
  const noCallback = [...new Set([...(nohzCpus ?? []), ...(nocbCpus ?? [])])];
  if (isoCpus && nocbCpus && minus(isoCpus, noCallback).length > 0) {
    problems.push(`${cpusAre(minus(isoCpus, noCallback))} isolated but not in rcu_nocbs/nohz_full: RCU callbacks still run there`);
  }
  if (nohzCpus && nocbCpus && minus(nohzCpus, nocbCpus).length > 0) {
    ev.push(`nohz_full implies rcu_nocbs for ${formatCpulist(minus(nohzCpus, nocbCpus))} (kernel-parameters.txt), so the shorter rcu_nocbs list is harmless`);
  }
  const isolatedAll = [...new Set([...(isoCpus ?? []), ...(nohzCpus ?? [])])];
  const housekeeping = minus(present, isolatedAll);
  if (present.length > 0 && isolatedAll.length > 0 && housekeeping.length === 0) {
    problems.push('every present CPU is isolated: no housekeeping CPU is left (the kernel then forces the boot CPU back to housekeeping)');
  }
  if (possible.length > 0) {
    const beyond = minus(isolatedAll, possible);
    if (beyond.length > 0) problems.push(`${cpusDo(beyond)} not exist on this host (possible: ${formatCpulist(possible)}): the kernel ignores them`);
  }
  if (irqaff?.cpus && isolatedAll.length > 0) {
    const overlap = irqaff.cpus.filter((x) => isolatedAll.includes(x));
    if (overlap.length > 0) problems.push(`irqaffinity=${irqaff.raw} sends default IRQ affinity to isolated CPUs ${formatCpulist(overlap)}`);
  }
  if (isoCpus && f.host.cpus.isolated !== null) {
    const applied = safeList(f.host.cpus.isolated);
    const domainIso = isoFlags.length === 0 || isoFlags.includes('domain');
    if (
      domainIso &&
      !sameSet(
        applied,
        isoCpus.filter((x) => possible.includes(x)),
      )
    ) {
      problems.push(
        `the kernel applied isolated=${f.host.cpus.isolated || '(empty)'}, not isolcpus=${fmt(iso)} (boot line changed since boot, or CPUs out of range)`,
      );
    }
  }
  if (nohzCpus && nohzFile !== null) {
    const applied = safeList(nohzFile);
    if (
      !sameSet(
        applied,
        nohzCpus.filter((x) => possible.includes(x)),
      )
    ) {
      problems.push(
        `the kernel applied nohz_full=${nohzFile || '(empty)'}, not ${fmt(nohz)} (CONFIG_NO_HZ_FULL missing, or the boot CPU was dropped for timekeeping)`,
      );
    }
  }
  if (problems.length > 0) {
    const target = formatCpulist(isolatedAll);
    return {
      id,
      status: 'WARN',
      summary: `CPU isolation parameters disagree: ${problems[0]}${problems.length > 1 ? ` (+${problems.length - 1} more)` : ''}`,
      evidence: [...ev, ...problems],
      fix: `use one list for all three, e.g. isolcpus=managed_irq,domain,${target} nohz_full=${target} rcu_nocbs=${target}, keeping at least one housekeeping CPU (add to GRUB_CMDLINE_LINUX, update-grub, reboot)`,
    };
  }
  const hk = housekeeping.length > 0 ? `; housekeeping CPUs ${formatCpulist(housekeeping)}` : '';
  return { id, status: 'PASS', summary: `isolation parameters agree (isolated ${formatCpulist(isolatedAll)}${hk})`, evidence: ev, fix: null };
}
