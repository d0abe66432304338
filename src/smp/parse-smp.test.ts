import { describe, expect, it } from 'vitest';
import { enumerateSlots } from './cpu-slots.ts';
import { parseInt64 } from './parse-int64.ts';
import { parseKeyval } from './parse-keyval.ts';
import { parseSmp } from './parse-smp.ts';
import { loadSmpVectors, SMP_VECTORS_DIR } from './shared-vectors.test-helpers.ts';
import { generateSmpCases, mulberry32 } from './generate-smp-cases.test-helpers.ts';

const vectors = loadSmpVectors();
if (vectors === null) console.warn(`shared -smp vectors skipped: ${SMP_VECTORS_DIR} is missing`);

describe.skipIf(vectors === null)(`shared QEMU 7.2 vectors (${SMP_VECTORS_DIR})`, () => {
  const vs = vectors ?? [];
  it('has vectors', () => expect(vs.length).toBeGreaterThan(100));
  for (const v of vs) {
    it(`${v.id} ${v.category} ${v.machine ?? '(default)'} ${v.accel} -smp ${JSON.stringify(v.smp_args)}`, () => {
      // No -smp at all is the same as `-smp ''`; no -machine means QEMU's default (pc).
      const r = parseSmp(v.smp_args.length ? v.smp_args : [''], { machine: v.machine ?? 'pc', accel: v.accel });
      if (v.qemu_quirk) {
        // QEMU wraps to 32 bits or crashes: kvcpu may refuse cleanly instead (README).
        if (!r.ok && r.error.code === 'E_SMP_OUT_OF_RANGE') return;
      }
      expect(r.ok).toBe(v.ok);
      if (r.ok) {
        const { cpus, maxcpus, sockets, dies, clusters, cores, threads } = r.topology;
        expect({ cpus, maxcpus, sockets, dies, clusters, cores, threads }).toEqual(v.result);
        expect(r.machine).toBe(v.machine_resolved);
        if (v.accel === 'tcg') expect(r.warnings).toEqual(v.warnings_smp.filter((w) => !w.includes('AMD CPU')));
        const pres = enumerateSlots(r.topology)
          .filter((s) => s.present)
          .map((s) => [s.index, s.socket, dies > 1 ? s.die : null, s.core, s.thread, s.apicId]);
        if (v.machine_resolved !== 'none') expect(pres).toEqual(v.present.map((p) => [p[0], p[1], dies > 1 ? p[2] : null, p[3], p[4], p[5]]));
        if (v.slots) {
          const slots = enumerateSlots(r.topology)
            .map((s) => [s.socket, dies > 1 ? s.die : null, s.core, s.thread, s.present ? 1 : 0])
            .sort((a, b) => String(a).localeCompare(String(b), 'en', { numeric: true }));
          const want = [...v.slots].sort((a, b) => String(a).localeCompare(String(b), 'en', { numeric: true }));
          expect(slots).toEqual(want);
        }
        // The canonical form reads back to the same topology.
        const back = parseSmp(r.canonical, { machine: v.machine ?? 'pc', accel: v.accel });
        expect(back.ok && back.topology).toEqual(r.topology);
      } else {
        expect(r.error.message).toBe(v.error);
        expect(r.error.location ?? null).toBe(v.error_location);
      }
    });
  }
});

describe('parseSmp: QEMU 7.2 rules', () => {
  it('legacy -smp N on >= 6.2 machines is 1 socket x N cores, on <= 6.1 N sockets', () => {
    const a = parseSmp('8');
    expect(a.ok && a.topology).toMatchObject({ sockets: 1, cores: 8, threads: 1, cpus: 8, maxcpus: 8 });
    expect(a.ok && a.canonical).toBe('cpus=8,sockets=1,dies=1,cores=8,threads=1,maxcpus=8');
    const b = parseSmp('8', { machine: 'pc-q35-6.1' });
    expect(b.ok && b.topology).toMatchObject({ sockets: 8, cores: 1, threads: 1 });
  });
  it('explains every filled value', () => {
    const r = parseSmp('8,threads=2');
    expect(r.ok && r.fills.map((f) => `${f.member}=${f.value}`).sort()).toEqual(['cores=4', 'maxcpus=8', 'sockets=1']);
  });
  it('hot-plug: topology from maxcpus, first cpus present', () => {
    const r = parseSmp('2,maxcpus=8,sockets=2');
    expect(r.ok && r.topology).toMatchObject({ sockets: 2, cores: 4, cpus: 2, maxcpus: 8 });
  });
  it('refusals carry stable codes and QEMU text', () => {
    const cases: [string, string, string?][] = [
      ['5,sockets=2', 'E_SMP_PRODUCT_MISMATCH'],
      ['8,maxcpus=4', 'E_SMP_MAXCPUS_LT_CPUS'],
      ['289', 'E_SMP_TOO_MANY_CPUS', "Invalid SMP CPUs 289. The max CPUs supported by machine 'pc-q35-7.2' is 288"],
      ['4,clusters=2', 'E_SMP_UNSUPPORTED_LEVEL', "clusters not supported by this machine's CPU topology"],
      ['4,modules=1', 'E_SMP_UNKNOWN_KEY', "Parameter 'smp.modules' is unexpected"],
      ['four', 'E_SMP_NOT_INTEGER', "Parameter 'smp.cpus' expects integer"],
      ['4,2', 'E_SMP_SYNTAX', "Invalid parameter '2'"],
      ['sockets=2,cores', 'E_SMP_SYNTAX', "Expected '=' after parameter 'cores'"],
      ['sockets=-1', 'E_SMP_OUT_OF_RANGE'],
      ['cpus=4,cores=65536,threads=65536', 'E_SMP_OUT_OF_RANGE'],
      ['help', 'E_SMP_HELP'],
    ];
    for (const [spec, code, msg] of cases) {
      const r = parseSmp(spec);
      expect(r.ok, spec).toBe(false);
      if (!r.ok) {
        expect(r.error.code, spec).toBe(code);
        if (msg) expect(r.error.message, spec).toBe(msg);
      }
    }
  });
  it('unknown machine types are refused like QEMU', () => {
    const r = parseSmp('4', { machine: 'pc-q35-8.0' });
    expect(!r.ok && r.error).toMatchObject({ code: 'E_SMP_MACHINE_UNKNOWN', message: 'unsupported machine type' });
    expect(parseSmp('4', { machine: 'pc-q35-8.0', qemuVersion: '8.0' }).ok).toBe(true);
  });
  it('TCG (< 9.0) refuses APIC IDs >= 255; KVM does not; unspecified warns', () => {
    expect(parseSmp('sockets=3,cores=65', { accel: 'kvm' }).ok).toBe(true);
    const tcg = parseSmp('sockets=3,cores=65', { accel: 'tcg' });
    expect(!tcg.ok && tcg.error.code).toBe('E_SMP_APIC_ID_LIMIT');
    const any = parseSmp('sockets=3,cores=65');
    expect(any.ok && any.warnings.join()).toMatch(/APIC IDs reach 320/);
    expect(parseSmp('sockets=3,cores=65', { accel: 'tcg', qemuVersion: '9.0', machine: 'q35' }).ok).toBe(true);
  });
});

describe('parseSmp: other QEMU versions (from source, notes §4.3/§4.4)', () => {
  it('6.1 legacy: cpus drives the computation; maxcpus alone fails', () => {
    const a = parseSmp('8,sockets=2,maxcpus=16', { qemuVersion: '6.1', machine: 'pc-q35-6.1' });
    expect(!a.ok && a.error.code).toBe('E_SMP_PRODUCT_MISMATCH');
    expect(parseSmp('8,sockets=2,maxcpus=16').ok).toBe(true);
    const b = parseSmp('maxcpus=8', { qemuVersion: '6.1' });
    expect(!b.ok && b.error.message).toBe('Invalid CPU topology deprecated: sockets (1) * dies (1) * cores (1) * threads (1) != maxcpus (8)');
    const c = parseSmp('4,cores=0', { qemuVersion: '6.1' });
    expect(c.ok && c.warnings).toEqual([]);
  });
  it('6.2 has no clusters key; 7.0 adds it', () => {
    const r = parseSmp('4,clusters=1', { qemuVersion: '6.2' });
    expect(!r.ok && r.error.message).toBe("Parameter 'smp.clusters' is unexpected");
    expect(parseSmp('4,clusters=1', { qemuVersion: '7.0' }).ok).toBe(true);
  });
  it('9.0: zero is an error; 9.0.0 warns about unsupported levels given as 1', () => {
    const r = parseSmp('4,cores=0', { qemuVersion: '9.0' });
    expect(!r.ok && r.error.code).toBe('E_SMP_ZERO');
    const w = parseSmp('4,books=1', { qemuVersion: '9.0' });
    expect(w.ok && w.warnings).toEqual(["Deprecated CPU topology (considered invalid): Unsupported books parameter mustn't be specified as 1"]);
    const u = parseSmp('4,books=2', { qemuVersion: '8.2' });
    expect(!u.ok && u.error.message).toBe("books not supported by this machine's CPU topology");
  });
  it('9.1+: modules on pc/q35, "> 1 not supported" wording and order, H with modules', () => {
    const m = parseSmp('16,modules=2,cores=4,threads=2', { qemuVersion: '9.1' });
    expect(m.ok && m.topology).toMatchObject({ sockets: 1, modules: 2, cores: 4, threads: 2 });
    expect(m.ok && m.canonical).toBe('cpus=16,sockets=1,dies=1,modules=2,cores=4,threads=2,maxcpus=16');
    const e = parseSmp('8,dies=2,clusters=2', { qemuVersion: '10.2', machine: 'microvm' });
    expect(!e.ok && e.error.message).toBe("clusters > 1 not supported by this machine's CPU topology");
    const e72 = parseSmp('8,dies=2,clusters=2', { machine: 'microvm' });
    expect(!e72.ok && e72.error.message).toBe("dies not supported by this machine's CPU topology");
    const p = parseSmp('10,modules=2,cores=2', { qemuVersion: '9.2' });
    expect(!p.ok && p.error.message).toBe(
      'Invalid CPU topology: product of the hierarchy must match maxcpus: sockets (2) * dies (1) * modules (2) * cores (2) * threads (1) != maxcpus (10)',
    );
  });
  it('q35 max CPUs per machine-type version', () => {
    expect(parseSmp('1024', { qemuVersion: '8.1', machine: 'pc-q35-8.1', accel: 'kvm' }).ok).toBe(true);
    const r = parseSmp('1025', { qemuVersion: '8.1', machine: 'pc-q35-8.1', accel: 'kvm' });
    expect(!r.ok && r.error.message).toBe("Invalid SMP CPUs 1025. The max CPUs supported by machine 'pc-q35-8.1' is 1024");
    expect(parseSmp('4096', { qemuVersion: '9.0', machine: 'q35', accel: 'tcg' }).ok).toBe(true);
  });
  it('arm virt: clusters (7.0+); s390x: books/drawers (8.2+ types)', () => {
    const v = parseSmp('16,clusters=2,cores=4', { machine: 'virt,gic-version=3' });
    expect(v.ok && v.topology).toMatchObject({ sockets: 2, clusters: 2, cores: 4 });
    expect(v.ok && v.canonical).toBe('cpus=16,sockets=2,clusters=2,cores=4,threads=1,maxcpus=16');
    // GICv2 (virt's default) takes 8 CPUs (live 7.2 qemu-system-aarch64)
    const g2 = parseSmp('16,clusters=2,cores=4', { machine: 'virt' });
    expect(!g2.ok && g2.error.message).toBe("Number of SMP CPUs requested (16) exceeds max CPUs supported by machine 'mach-virt' (8)");
    const z = parseSmp('2,threads=2', { machine: 's390-ccw-virtio' });
    expect(!z.ok && z.error.message).toBe('S390 does not support more than 1 threads.');
    expect(parseSmp('2,threads=2', { machine: 's390-ccw-virtio-7.1' }).ok).toBe(true);
    const s = parseSmp('16,drawers=2,books=2', { machine: 's390-ccw-virtio-8.2', qemuVersion: '8.2' });
    expect(s.ok && s.topology).toMatchObject({ drawers: 2, books: 2, sockets: 1, cores: 4 });
    const old = parseSmp('16,books=2', { machine: 's390-ccw-virtio-8.1', qemuVersion: '8.2' });
    expect(!old.ok && old.error.code).toBe('E_SMP_UNSUPPORTED_LEVEL');
  });
  it('refuses versions it does not model', () => {
    expect(parseSmp('4', { qemuVersion: '4.2' })).toMatchObject({ ok: false, error: { code: 'E_SMP_QEMU_VERSION' } });
    expect(parseSmp('4', { qemuVersion: 'x' })).toMatchObject({ ok: false, error: { code: 'E_SMP_QEMU_VERSION' } });
  });
});

describe('keyval and integers', () => {
  it('parses like util/keyval.c', () => {
    expect(parseKeyval('4,sockets=2', 'cpus')).toMatchObject({ ok: true, dict: { cpus: '4', sockets: '2' } });
    expect(parseKeyval('sockets=2,,cores=2', 'cpus')).toMatchObject({ ok: true, dict: { sockets: '2,cores=2' } });
    expect(parseKeyval('4,,sockets=2', 'cpus')).toEqual({ ok: false, message: "Invalid parameter ''" });
    expect(parseKeyval('cpus=4,cpus.x=1', 'cpus')).toEqual({ ok: false, message: "Parameters 'cpus.*' used inconsistently" });
    expect(parseKeyval('foo.1=2', 'cpus')).toEqual({ ok: false, message: "Parameter 'foo.0' missing" });
    expect(parseKeyval('x'.repeat(128) + '=1', 'cpus')).toEqual({ ok: false, message: `Parameter '${'x'.repeat(128)}' is too long` });
    expect(parseKeyval('4,help', 'cpus')).toMatchObject({ ok: true, help: true });
    expect(parseKeyval('__com.x_y=1', 'cpus')).toMatchObject({ ok: true, dict: { '__com.x_y': '1' } });
  });
  it('parses integers like qemu_strtoi64(base 0)', () => {
    expect(['4', ' 4', '+4', '0x10', '010', '-1'].map(parseInt64)).toEqual([4n, 4n, 4n, 16n, 8n, -1n]);
    expect(['08', '0x', '4.0', '', '4 ', '9223372036854775808'].map(parseInt64)).toEqual([null, null, null, null, null, null]);
  });
});

describe('generated specs: internal consistency', () => {
  it('every accepted spec has product = maxcpus, cpus <= maxcpus, and a canonical form that reads back', () => {
    const cases = generateSmpCases(mulberry32(7), 2000);
    let accepted = 0;
    for (const c of cases) {
      const r = parseSmp(c.smp, { machine: c.machine });
      if (!r.ok) {
        expect(r.error.code).toMatch(/^E_SMP_/);
        continue;
      }
      accepted++;
      const t = r.topology;
      expect(t.drawers * t.books * t.sockets * t.dies * t.clusters * (t.modules ?? 1) * t.cores * t.threads).toBe(t.maxcpus);
      expect(t.cpus).toBeLessThanOrEqual(t.maxcpus);
      const back = parseSmp(r.canonical, { machine: c.machine });
      expect(back.ok && back.topology, `${c.smp} -> ${r.canonical}`).toEqual(t);
    }
    expect(accepted).toBeGreaterThan(200);
  });
});
