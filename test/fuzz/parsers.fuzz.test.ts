/**
 * Property-based fuzzing of every pure parser and reader (issue 15): each returns a value or
 * throws a KvcpuError with a code docs/errors.md documents, within a time bound, and what it
 * returns has no NaN/Infinity and no negative counts. Inputs mix each grammar with garbage
 * (see fuzz-kit.ts); counts and seed are printed per property. Shrunk counter-examples found
 * while writing this live in regressions.test.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatCpulist, MAX_CPUS, parseCpulist, parseCpumask } from '../../src/core/cpulist.ts';
import { parseKernelCmdline, readCmdlineCpus } from '../../src/check/parse-kernel-cmdline.ts';
import { parseCpuXml } from '../../src/cpu-baseline/parse-cpu-xml.ts';
import { parseCpuInput } from '../../src/cpu-baseline/parse-cpu-input.ts';
import { loadCpuMap } from '../../src/cpu-baseline/read-cpu-map.ts';
import { scanXml } from '../../src/cpu-baseline/scan-xml.ts';
import { indexCpuMap } from '../../src/cpu-baseline/x86-map.ts';
import { loadCatalog } from '../../src/cpu-models/catalog.ts';
import { explainCpu, parseCpuString } from '../../src/cpu-models/cpu-string.ts';
import { tcgFeatures } from '../../src/cpu-models/runnability.ts';
import { parseAssignments } from '../../src/guests/build-pin-requests.ts';
import { parseProcStat, parseProcStatus, parseSchedMigrations, parseSchedstat } from '../../src/guests/parse-proc-files.ts';
import { parseMemoryMiB, parseQemuCmdline, parseQemuOpts, parseSmpCounts } from '../../src/guests/parse-qemu-cmdline.ts';
import { parseCpuinfo } from '../../src/host/parse-cpuinfo.ts';
import { answerNovaCase } from '../../src/plan/fit-nova-host.ts';
import { parseNovaCase } from '../../src/plan/nova-case.ts';
import { guestsFromJson, parseGuestSpec } from '../../src/plan/parse-guest-spec.ts';
import { parseSmp } from '../../src/smp/parse-smp.ts';
import { loadPinPlan } from '../../src/cli/commands/pin.ts';
import { badNumber, cpulistText, DOCUMENTED_CODES, fuzz, junk, mutatedText, mutateJson, negativeCount, numberText, outcome } from './fuzz-kit.ts';

const REPO = path.resolve(import.meta.dirname, '../..');
const FIXTURE = path.join(REPO, 'test/fixtures/hosts/this-machine-amd-epyc-2c');
const cpuinfoText = readFileSync(path.join(FIXTURE, 'proc/cpuinfo'), 'utf8');
const statLine =
  '4242 (CPU 0/TCG) S 1 4242 4242 0 -1 4194368 3 0 0 0 120 35 0 0 20 0 5 0 987654 1234567 890 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 -1 1 0 0 0 0 0';
const statusText = 'Name:\tqemu\nState:\tS (sleeping)\nCpus_allowed_list:\t0-1\nvoluntary_ctxt_switches:\t12\nnonvoluntary_ctxt_switches:\t3\n';
const novaCases = readFileSync(path.join(REPO, '../shared/reference/nova/pinning-cases.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .slice(0, 40)
  .map((l) => JSON.parse(l) as unknown);

function clean(
  v: unknown,
  counts = /^(cpu|cpus|pid|tid|ppid|psr|count|vcpus?|sockets|cores|threads|dies|clusters|maxcpus|memory\w*|startTime|utime|stime|runNs|waitNs|\w*Switches|migrations)$/i,
): void {
  expect(badNumber(v)).toBeNull();
  expect(negativeCount(v, counts)).toBeNull();
}

describe('fuzz: CPU lists and masks', () => {
  it('parseCpulist: sorted unique CPUs below the limit, or E_BAD_CPULIST/E_CPULIST_RANGE; round-trips', () => {
    fuzz(
      'parseCpulist',
      fc.tuple(cpulistText, fc.constantFrom(undefined, 1, 8, 64, MAX_CPUS)),
      ([text, limit]) => {
        const r = outcome(() => parseCpulist(text, limit === undefined ? {} : { limit }));
        if (r.error) return void expect(['E_BAD_CPULIST', 'E_CPULIST_RANGE']).toContain(r.error.code);
        const cpus = r.value;
        expect(cpus.every((c, i) => Number.isInteger(c) && c >= 0 && c < (limit ?? MAX_CPUS) && (i === 0 || c > cpus[i - 1]!))).toBe(true);
        expect(parseCpulist(formatCpulist(cpus), limit === undefined ? {} : { limit })).toEqual(cpus);
      },
      { runs: 3000 },
    );
  });

  it('parseCpumask: CPUs below the limit from hex words, or a coded refusal', () => {
    const hexWords = fc.array(fc.oneof(fc.stringMatching(/^[0-9a-fA-F]{0,9}$/), junk), { maxLength: 300 }).map((w) => w.join(','));
    fuzz(
      'parseCpumask',
      hexWords,
      (text) => {
        const r = outcome(() => parseCpumask(text));
        if (r.error) return void expect(['E_BAD_CPULIST', 'E_CPULIST_RANGE']).toContain(r.error.code);
        expect(r.value.every((c) => Number.isInteger(c) && c >= 0 && c < MAX_CPUS)).toBe(true);
      },
      { runs: 1500 },
    );
  });

  it('--vcpu N=LIST assignments: bounded indices and CPUs, or a coded refusal', () => {
    const item = fc.tuple(fc.oneof(numberText, junk), cpulistText).map(([k, v]) => `${k}=${v}`);
    fuzz(
      'parseAssignments(--vcpu)',
      fc.array(fc.oneof(item, junk), { maxLength: 4 }),
      (items) => {
        const r = outcome(() => parseAssignments(items, 'vcpu'));
        if (r.value) for (const [k, cpus] of r.value) expect(Number(k) < MAX_CPUS && cpus.length > 0).toBe(true);
      },
      { runs: 1500 },
    );
  });
});

describe('fuzz: -smp and -cpu', () => {
  const key = fc.constantFrom('cpus', 'sockets', 'dies', 'clusters', 'cores', 'threads', 'maxcpus', 'books', 'drawers', 'modules', 'bogus', '');
  const smpText = fc.oneof(
    fc
      .array(
        fc.oneof(
          fc.tuple(key, numberText).map(([k, v]) => `${k}=${v}`),
          numberText,
          junk,
        ),
        { maxLength: 6 },
      )
      .map((xs) => xs.join(',')),
    junk,
  );
  it('parseSmp: a topology whose product is maxcpus, or a documented E_SMP_* code as a value', () => {
    fuzz(
      'parseSmp',
      fc.tuple(smpText, fc.constantFrom(undefined, 'pc', 'q35', 'microvm', 'virt', 'nonsense'), fc.constantFrom(undefined, '6.1', '7.2', '9.1', 'x')),
      ([s, machine, qemuVersion]) => {
        const r = outcome(() => parseSmp(s, { ...(machine ? { machine } : {}), ...(qemuVersion ? { qemuVersion } : {}) }));
        expect(r.error).toBeNull();
        const v = r.value!;
        clean(v);
        if (v.ok) {
          const t = v.topology as unknown as Record<string, number>;
          expect(t.cpus).toBeGreaterThan(0);
          expect(t.maxcpus).toBeGreaterThanOrEqual(t.cpus!);
        } else expect(DOCUMENTED_CODES.has(v.error.code), v.error.code).toBe(true);
      },
      { runs: 3000 },
    );
  });

  const catalog = loadCatalog();
  const supported = tcgFeatures(catalog);
  const modelName = fc.constantFrom(...catalog.models.slice(0, 30).map((m) => m.name), 'host', 'max', 'qemu64', 'nonexistent', '');
  const feature = fc.oneof(
    fc.constantFrom('avx2', 'hle', 'pcid', 'x2apic', 'svm', 'vmx', 'level', 'xlevel', 'model-id', 'family', 'tsc-frequency', 'kvm_pv_eoi'),
    junk,
  );
  const cpuText = fc
    .tuple(
      modelName,
      fc.array(fc.tuple(fc.constantFrom('+', '-', '', ''), feature, fc.constantFrom('', '=on', '=off', '=yes', '=7', '=99999999999999999999999', '=-1', '=')), {
        maxLength: 5,
      }),
    )
    .map(([m, fs]) => [m, ...fs.map(([sign, f, v]) => sign + f + (sign ? '' : v))].join(','));
  it('parseCpuString + explainCpu: an explanation or a documented code', () => {
    fuzz(
      'explainCpu(-cpu string)',
      fc.oneof(cpuText, junk),
      (s) => {
        const p = outcome(() => parseCpuString(s));
        if (p.error) return;
        const r = outcome(() => explainCpu(s, { supported, catalog }));
        if (r.value) clean(r.value, /^(count|level|family|stepping)$/);
      },
      { runs: 800, timeMs: 3000 },
    );
  });
});

describe('fuzz: XML and CPU inputs', () => {
  const sample = `<cpu mode='custom' match='exact'>\n  <model fallback='forbid'>Skylake-Client</model>\n  <vendor>Intel</vendor>\n  <topology sockets='1' dies='1' cores='4' threads='2'/>\n  <feature policy='require' name='avx2'/>\n  <feature policy='disable' name='hle'/>\n  <!-- c --><![CDATA[x]]>\n</cpu>`;
  const host = `<cpu>\n  <arch>x86_64</arch>\n  <model>Haswell</model>\n  <vendor>Intel</vendor>\n  <feature name='vmx'/>\n  <numa><cell id='0'/></numa>\n</cpu>`;
  const entity = fc.oneof(
    fc.constantFrom('&lt;', '&amp;', '&#65;', '&#x41;', '&#99999999;', '&#x110000;', '&#xD800;', '&#0;', '&bogus;', '&#;', '&#x;'),
    fc.nat().map((n) => `&#${n};`),
  );
  const xml = fc.oneof(
    mutatedText(sample),
    mutatedText(host),
    fc.tuple(fc.nat(sample.length), entity).map(([n, e]) => sample.slice(0, n) + e + sample.slice(n)),
    fc.constant('<a>'.repeat(5000)),
    junk,
  );
  it('scanXml: an element tree, or E_BAD_XML', () => {
    fuzz(
      'scanXml',
      xml,
      (text) => {
        const r = outcome(() => scanXml(text, 'fuzz.xml'));
        if (r.error) expect(r.error.code).toBe('E_BAD_XML');
      },
      { runs: 2000 },
    );
  });
  it('parseCpuXml: CPU definitions, or a documented code', () => {
    fuzz(
      'parseCpuXml',
      xml,
      (text) => {
        const r = outcome(() => parseCpuXml(text, 'fuzz.xml'));
        if (r.value) clean(r.value);
      },
      { runs: 2000 },
    );
  });
  const x86 = indexCpuMap(loadCpuMap());
  it('parseCpuInput (XML, cpuinfo, host JSON, flags): a CPU definition, or a documented code', () => {
    fuzz(
      'parseCpuInput',
      fc.oneof(xml, mutatedText(cpuinfoText.slice(0, 1500)), mutatedText('{"cpu":{"vendor":"AuthenticAMD","flags":["sse2","avx2"]}}')),
      (text) => {
        const r = outcome(() => parseCpuInput(x86, text, 'fuzz'));
        if (r.value) clean(r.value);
      },
      { runs: 800, timeMs: 3000 },
    );
  });
});

describe('fuzz: /proc files', () => {
  it('parseCpuinfo: records with non-negative CPU numbers, never NaN', () => {
    const line = fc
      .tuple(
        fc.constantFrom(
          'processor',
          'physical id',
          'core id',
          'cpu cores',
          'siblings',
          'flags',
          'model name',
          'cpu number',
          '# processors',
          'processor 0',
          'CPU',
        ),
        fc.oneof(numberText, junk),
      )
      .map(([k, v]) => `${k}\t: ${v}`);
    const text = fc.oneof(
      mutatedText(cpuinfoText),
      fc.array(fc.oneof(line, fc.constant(''), junk), { maxLength: 30 }).map((l) => l.join('\n')),
    );
    fuzz(
      'parseCpuinfo',
      text,
      (t) => {
        const r = outcome(() => parseCpuinfo(t));
        const v = r.value!;
        expect(badNumber(v)).toBeNull();
        for (const c of v.cpus) expect(c.cpu === null || (Number.isInteger(c.cpu) && c.cpu >= 0)).toBe(true);
        for (const c of v.listedCpus) expect(Number.isInteger(c) && c >= 0).toBe(true);
      },
      { runs: 1500 },
    );
  });
  it('stat/status/schedstat/sched: null or finite non-negative fields', () => {
    fuzz(
      'parseProcStat',
      fc.oneof(mutatedText(statLine), junk),
      (t) => {
        const v = outcome(() => parseProcStat(t)).value;
        if (v) clean(v);
      },
      { runs: 2000 },
    );
    fuzz('parseProcStatus', fc.oneof(mutatedText(statusText), junk), (t) => clean(outcome(() => parseProcStatus(t)).value), { runs: 1500 });
    fuzz(
      'parseSchedstat',
      fc.oneof(
        mutatedText('123456 7890 12\n'),
        fc.tuple(numberText, numberText).map(([a, b]) => `${a} ${b} 1`),
        junk,
      ),
      (t) => {
        const v = outcome(() => parseSchedstat(t)).value;
        if (v) clean(v);
      },
      { runs: 1500 },
    );
    fuzz(
      'parseSchedMigrations',
      fc.oneof(mutatedText('se.nr_migrations : 17\n'), junk),
      (t) => clean({ migrations: outcome(() => parseSchedMigrations(t)).value }),
      { runs: 800 },
    );
  });
  it('kernel command line: isolcpus/nohz_full lists bounded, or recorded as an error', () => {
    const param = fc
      .tuple(
        fc.constantFrom('isolcpus', 'nohz_full', 'rcu_nocbs', 'irqaffinity', 'nr_cpus', 'maxcpus', 'quiet'),
        fc.oneof(cpulistText, fc.constantFrom('domain,managed_irq,2-3', 'nohz,0-99999999999999999999999', 'all', 'N')),
      )
      .map(([k, v]) => `${k}=${v}`);
    fuzz(
      'parseKernelCmdline+readCmdlineCpus',
      fc.array(fc.oneof(param, junk), { maxLength: 6 }).map((p) => p.join(' ')),
      (t) => {
        const c = outcome(() => parseKernelCmdline(t)).value!;
        clean(c);
        for (const p of ['isolcpus', 'nohz_full', 'rcu_nocbs']) {
          const v = /(?:^|\s)(?:isolcpus|nohz_full|rcu_nocbs)=(\S*)/.exec(t)?.[1];
          if (v === undefined) continue;
          const r = outcome(() => readCmdlineCpus(v, { isolcpus: p === 'isolcpus' })).value!;
          if (r.cpus) expect(r.cpus.every((x) => x >= 0 && x < MAX_CPUS)).toBe(true);
        }
      },
      { runs: 1500 },
    );
  });
  it('QEMU command lines (/proc/PID/cmdline): a config with sane counts', () => {
    const opt = fc.oneof(
      fc.tuple(
        fc.constantFrom('-smp', '-m', '-name', '-cpu', '-qmp', '-accel', '-machine', '-object', '-device', '-numa', '-chardev', '-mon'),
        fc.oneof(
          junk,
          cpulistText,
          fc.constantFrom(
            'guest=$(touch /tmp/x),debug-threads=on',
            'unix:/tmp/q.sock,server=on,wait=off',
            '4,maxcpus=99999999999999999999999',
            '99999999999999999999G',
            '-1',
            'iothread,id=iot0',
            'node,cpus=0-99999999999999999999',
          ),
        ),
      ),
      fc.tuple(junk, junk),
    );
    fuzz(
      'parseQemuCmdline',
      fc.array(opt, { maxLength: 8 }).map((xs) => ['qemu-system-x86_64', ...xs.flat()]),
      (argv) => {
        const r = outcome(() => parseQemuCmdline(argv));
        if (r.value) clean(r.value, /^(smpCpus|smpMaxCpus|memoryMiB|cpus|maxCpus)$/);
      },
      { runs: 1500 },
    );
    fuzz(
      'parseQemuOpts/parseMemoryMiB/parseSmpCounts',
      fc.oneof(junk, numberText, cpulistText),
      (t) => {
        outcome(() => parseQemuOpts(t, 'guest'));
        const m = outcome(() => parseMemoryMiB(t)).value;
        if (m !== null) expect(Number.isFinite(m) && m >= 0).toBe(true);
        const s = outcome(() => parseSmpCounts(t)).value;
        if (s) clean(s, /^(cpus|maxCpus)$/);
      },
      { runs: 1500 },
    );
  });
});

describe('fuzz: plan, pin plan and Nova inputs', () => {
  const spec = fc
    .array(
      fc.tuple(
        fc.constantFrom('name', 'vcpus', 'memory', 'policy', 'threads', 'emulator', 'numa', 'l3', 'mask', 'iothreads', 'bogus'),
        fc.oneof(numberText, cpulistText, fc.constantFrom('dedicated', 'shared', 'mixed', 'prefer', 'isolate', 'require', 'auto', 'true', '!0-1'), junk),
      ),
      { maxLength: 6 },
    )
    .map((kv) => kv.map(([k, v]) => `${k}=${v}`).join(','));
  it('parseGuestSpec and --guests JSON: guests with positive counts, or a documented code', () => {
    fuzz(
      'parseGuestSpec',
      fc.oneof(spec, junk),
      (s) => {
        const r = outcome(() => parseGuestSpec(s));
        if (r.value) clean(r.value);
      },
      { runs: 2000 },
    );
    const base = [{ name: 'g1', vcpus: 4, memory: 1024, policy: 'dedicated', threads: 'prefer', emulator: 'isolate', numa: 1, mask: '0-3', iothreads: 1 }];
    fuzz(
      'guestsFromJson',
      mutateJson(base),
      (v) => {
        const r = outcome(() => guestsFromJson(v));
        if (r.value) clean(r.value);
      },
      { runs: 1500 },
    );
  });
  it('pin plan files: a plan whose CPU lists parse, or a documented code', () => {
    const plan = {
      kind: 'kvcpu-pin-plan',
      version: 1,
      guests: [{ name: 'g1', vcpus: { '0': '2', '1': '3' }, emulator: '0', iothreads: { iot0: '1' }, topology: { sockets: 1, cores: 2, threads: 1 } }],
    };
    fuzz(
      'loadPinPlan',
      fc.oneof(
        mutateJson(plan).map((v) => JSON.stringify(v)),
        mutatedText(JSON.stringify(plan)),
      ),
      (text) => {
        const r = outcome(() => loadPinPlan('fuzz-plan.json', text));
        if (r.value) for (const g of r.value.guests) for (const k of Object.keys(g.vcpus)) expect(Number(k)).toBeLessThan(MAX_CPUS);
      },
      { runs: 1500 },
    );
  });
  it('Nova cases: an answer, or a documented code; CPU numbers bounded', () => {
    fuzz(
      'parseNovaCase+answerNovaCase',
      fc.oneof(
        fc.constantFrom(...novaCases).chain((c) => mutateJson(c)),
        fc.jsonValue({ maxDepth: 3 }),
      ),
      (v) => {
        const c = outcome(() => parseNovaCase(v));
        if (!c.value) return;
        const a = outcome(() => answerNovaCase(c.value!));
        if (a.value) expect(badNumber(a.value)).toBeNull();
      },
      { runs: 1200, timeMs: 3000 },
    );
  });
});
