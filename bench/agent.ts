// Benchmark: the agent's /metrics scrape vs what libvirt exporters run per scrape
// (`virsh domstats --vcpu` over the same domains) and vs `ps -eLo`, with GUESTS libvirt domains
// (default 16, bounded to 8..40; TCG, 2 vCPUs each, halted). Also the agent's own CPU use at a
// 1 s sampling interval with nobody scraping (goal: < 2 % of one CPU with 40 guests).
// Run: node --import tsx bench/agent.ts   (GUESTS=40 for the figure; LIBVIRT=0: plain QEMU, no virsh row)
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { renderTable } from '../src/core/format.ts';
import { launchGuest, type LaunchedGuest } from '../src/guests/launch-guest.ts';
import { stopGuest } from '../src/guests/stop-guest.ts';
import { startAgent } from '../src/http/start-agent.ts';
import { qemuAvailable } from '../src/qmp/start-qemu.ts';
import { destroyAllDomains, libvirtReachable, startDomain } from '../test/support/libvirt.ts';

const execFileP = promisify(execFile);
const COUNT = Math.min(40, Math.max(8, Number(process.env.GUESTS ?? 16)));
const RUNS = Number(process.env.RUNS ?? 15);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
/** CPU ms used by reaped children (cutime+cstime, 10 ms ticks). */
const childrenCpuMs = () => {
  const s = readFileSync('/proc/self/stat', 'latin1');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) * 10;
};

if (!qemuAvailable()) {
  console.log('qemu-system-x86_64 is not installed: benchmark skipped');
  process.exit(0);
}
const dir = mkdtempSync(join(tmpdir(), 'kvcpu-bench-agent-'));
const useLibvirt = process.env.LIBVIRT !== '0' && libvirtReachable();
const guests: Pick<LaunchedGuest, 'pid' | 'name' | 'qmpSocket'>[] = [];
const cleanup = () =>
  Promise.all([destroyAllDomains(), ...guests.filter((g) => g.qmpSocket).map((g) => stopGuest(g.pid, { qmpSocket: g.qmpSocket, graceMs: 1000 }))]).then(() => rmSync(dir, { recursive: true, force: true }));
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

let agent: Awaited<ReturnType<typeof startAgent>> | null = null;
try {
  for (let i = 0; i < COUNT; i += 8) {
    await Promise.all(
      Array.from({ length: Math.min(8, COUNT - i) }, (_, k) => {
        const name = `kvt-agent-bench-${process.pid}-${i + k}`;
        return useLibvirt
          ? startDomain({ name, vcpus: 2, memoryMiB: 16 }).then((d) => void guests.push({ pid: d.pid, name, qmpSocket: '' }))
          : launchGuest({ name, smp: '2', cpu: 'qemu64', accel: 'tcg', memoryMiB: 16, dir: join(dir, String(i + k)) }).then((g) => void guests.push(g));
      }),
    );
  }
  console.log(`started ${guests.length} guests${useLibvirt ? ' as libvirt domains' : ' (plain QEMU)'}`);
  await new Promise((r) => setTimeout(r, 5000)); // let 40 QEMU start-ups settle
  agent = await startAgent({ host: '127.0.0.1', port: 0, intervalMs: 1000, token: null, auditLog: null, log: () => undefined });
  const url = `${agent.url}/metrics`;
  const text = await (await fetch(url)).text();
  const mine = guests.filter((g) => text.includes(`kvcpu_guest_vcpus{guest="${g.name}"} 2`)).length;
  if (mine !== COUNT) throw new Error(`/metrics lists ${mine} of our ${COUNT} guests`);

  const wall: Record<string, number[]> = { metrics: [], ps: [], virsh: [] };
  const cpu = { metrics: 0, ps: 0, virsh: 0 };
  const names = guests.map((g) => g.name);
  for (let r = 0; r < RUNS; r++) {
    let c = cpuMs();
    let t = performance.now();
    await (await fetch(url)).text();
    wall.metrics!.push(performance.now() - t);
    cpu.metrics += cpuMs() - c;
    c = childrenCpuMs();
    t = performance.now();
    await execFileP('ps', ['-eLo', 'psr,ruser,pid,tid,comm,args'], { maxBuffer: 64 << 20 });
    wall.ps!.push(performance.now() - t);
    cpu.ps += childrenCpuMs() - c;
    if (useLibvirt && r < 5) {
      c = childrenCpuMs();
      t = performance.now();
      await execFileP('virsh', ['-c', 'qemu:///system', 'domstats', '--vcpu', ...names], { maxBuffer: 64 << 20 });
      wall.virsh!.push(performance.now() - t);
      cpu.virsh += childrenCpuMs() - c;
    }
  }
  // The agent's own cost: CPU of this process over 10 s of 1 s samples, nobody scraping.
  const c0 = cpuMs();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, 10_000));
  const agentPct = ((cpuMs() - c0) / (performance.now() - t0)) * 100;
  const m = median(wall.metrics!);
  const rows = [
    ['GET /metrics (agent, from the sample)', m.toFixed(2), (cpu.metrics / RUNS).toFixed(2), '1.0x'],
    ['ps -eLo psr,ruser,pid,tid,comm,args', median(wall.ps!).toFixed(2), (cpu.ps / RUNS).toFixed(2), `${(median(wall.ps!) / m).toFixed(1)}x`],
  ];
  if (wall.virsh!.length) rows.push([`virsh domstats --vcpu (${COUNT} domains)`, median(wall.virsh!).toFixed(2), (cpu.virsh / wall.virsh!.length).toFixed(2), `${(median(wall.virsh!) / m).toFixed(1)}x`]);
  console.log(`\n${COUNT} guests, ${COUNT * 2} vCPUs; ${RUNS} runs (virsh ${wall.virsh!.length}); milliseconds`);
  console.log(renderTable(['METHOD', 'MEDIAN-MS', 'CPU-MS', 'SLOWER-THAN-SCRAPE'], rows, { right: [1, 2, 3] }));
  console.log(`agent sample (one /proc + /sys walk): ${agent.sampler.latest().durationMs.toFixed(1)} ms`);
  console.log(`agent CPU at a 1 s interval, idle: ${agentPct.toFixed(2)} % of one CPU (goal < 2 %): ${agentPct < 2 ? 'met' : 'NOT met'}`);
  if (wall.virsh!.length) {
    const ratio = median(wall.virsh!) / m;
    console.log(`scrape vs virsh domstats --vcpu: ${ratio.toFixed(0)}x faster (goal >= 20x): ${ratio >= 20 ? 'met' : 'NOT met'}`);
  } else console.log('libvirtd not reachable: virsh domstats row skipped');
} finally {
  await agent?.close();
  await cleanup();
}
