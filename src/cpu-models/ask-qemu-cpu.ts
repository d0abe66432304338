import { spawn } from 'node:child_process';
import type { Accel } from './types.ts';

/** What the real QEMU did with one `-cpu` string (the oracle of the differential tests). */
export interface QemuCpuAnswer {
  /** QEMU reached the monitor (the vCPU was realized). */
  ok: boolean;
  /** The refusal: QEMU's first error line, program prefix removed. */
  error?: string;
  /** `warning:` lines, prefix removed. */
  warnings: string[];
  /** Named features QEMU's filter warned about (`… doesn't support requested feature: CPUID.07H:EBX.avx512f [bit 16]`). */
  filtered: string[];
  /** Every feature property that reads back true on the realized vCPU (qom-get), sorted. */
  final?: string[];
  vendor?: string;
  exitStatus?: number;
}

/** `CPUID.07H:EBX.avx512f [bit 16]` / `MSR(48EH).vmx-hlt-exit [bit 7]` → the feature name (null for unnamed bits). */
export function filteredFeatureName(what: string): string | null {
  const m = /^(?:CPUID\.[0-9A-F]+H(?:\.[0-9A-F]+H)?:E[A-D]X|MSR\([0-9A-F]+H\))\.(.+?) \[bit \d+\]$/.exec(what);
  return m ? m[1]! : null;
}

/** QEMU's stderr → first error line and warnings (QEMU prefixes each line with the program name). */
export function splitCpuStderr(stderr: string): { error?: string; warnings: string[]; filtered: string[] } {
  const warnings: string[] = [];
  const filtered = new Set<string>();
  let error: string | undefined;
  for (const raw of stderr.split('\n')) {
    const line = raw.replace(/^\S*qemu-system-[\w-]+: /, '').trim();
    if (!line) continue;
    const w = /^warning: (.*)$/.exec(line);
    if (w) {
      warnings.push(w[1]!);
      // x86_cpu_filter_features ("TCG/host doesn't support requested feature") and the
      // feature_dependencies check of x86_cpu_expand_features both mark filtered-features.
      const f = /(?:doesn't support requested feature|depends on other features that were not requested): (.*)$/.exec(w[1]!);
      const name = f ? filteredFeatureName(f[1]!) : null;
      if (name) filtered.add(name);
      continue;
    }
    if (error === undefined && raw !== line) error = line;
  }
  return { ...(error !== undefined ? { error } : {}), warnings, filtered: [...filtered].sort() };
}

/**
 * Start `qemu-system-x86_64 -machine pc -accel A -cpu STR -S -nodefaults -display none -qmp
 * stdio`, read back every feature property and `vendor` of the realized vCPU with qom-get, quit.
 * A refusal is a value. The process is always gone when this resolves (SIGKILL after timeoutMs).
 */
export function askQemuCpu(
  cpu: string,
  opts: { accel: Accel; features: string[]; binary?: string; machine?: string; timeoutMs?: number },
): Promise<QemuCpuAnswer> {
  const binary = opts.binary ?? 'qemu-system-x86_64';
  const args = [
    '-machine',
    opts.machine ?? 'pc',
    '-accel',
    opts.accel,
    '-cpu',
    cpu,
    '-S',
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-qmp',
    'stdio',
  ];
  const path = '/machine/unattached/device[0]';
  const cmds: unknown[] = [
    { execute: 'qmp_capabilities', id: 'caps' },
    { execute: 'qom-get', id: 'vendor', arguments: { path, property: 'vendor' } },
  ];
  opts.features.forEach((f, i) => cmds.push({ execute: 'qom-get', id: `f${i}`, arguments: { path, property: f } }));
  cmds.push({ execute: 'quit', id: 'quit' });
  return new Promise((resolve) => {
    const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    child.stdin.on('error', () => undefined); // QEMU refused before reading: EPIPE is expected
    child.stdin.end(cmds.map((c) => JSON.stringify(c)).join('\n') + '\n');
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      const parts = splitCpuStderr(err);
      const replies = new Map<string, unknown>();
      let greeted = false;
      for (const l of out.split('\n')) {
        if (!l.trim()) continue;
        try {
          const j = JSON.parse(l) as { QMP?: unknown; id?: string; return?: unknown };
          if (j.QMP) greeted = true;
          if (j.id !== undefined && 'return' in j) replies.set(j.id, j.return);
        } catch {
          // not a QMP line
        }
      }
      if (!greeted || !replies.has('vendor')) {
        resolve({
          ok: false,
          error: parts.error ?? `(QEMU exited with status ${code} and no message)`,
          warnings: parts.warnings,
          filtered: parts.filtered,
          exitStatus: code ?? -1,
        });
        return;
      }
      const final = opts.features.filter((_, i) => replies.get(`f${i}`) === true).sort();
      resolve({ ok: true, warnings: parts.warnings, filtered: parts.filtered, final, vendor: String(replies.get('vendor')), exitStatus: code ?? -1 });
    });
  });
}
