// `npm run gen:errors` (part of `npm run gen`): writes docs/errors.md from the table of codes
// in src/core/error-codes.ts. The page's framing (how errors reach users, section intros) lives
// here; each code's text lives in the table. test/error-codes.test.ts compares the committed page
// with renderErrorsDoc(), so editing docs/errors.md by hand fails the tests: edit the table.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES, type ErrorCode, type ErrorSection } from '../src/core/error-codes.ts';

const INTRO = `# kvcpu error codes

Every error kvcpu reports carries a **stable code** (\`E_...\`): scripts match on it, tests
assert it. Messages and hints may be reworded; codes do not change meaning.

How errors reach you:

- **Text** (default): one line on stderr, \`error E_CODE: message\`, then \`hint: what to do\`.
- **JSON** (\`--json\`, \`--format json\`, and commands whose output is always JSON such as
  \`kvcpu plan nova\`): \`{"ok":false,"error":{"code","message","hint"?,"details"?}}\` on stdout.
- **Exit status**: \`0\` ok, \`1\` a check failed / findings (a FAIL verdict, a guest that does not
  fit: those are *results*, not errors, and carry no \`E_\` code), \`2\` bad input or a broken
  environment (every code below unless its entry says otherwise).
- Line-oriented modes (\`kvcpu smp --batch\`, \`kvcpu topology nova --batch\`, \`kvcpu plan nova
  --batch\`) print one \`{"ok":false,"error":{...}}\` per bad line and carry on; see each code.
- \`kvcpu report\` never fails because one section fails: the section is shown as *skipped* with
  the code of the error that stopped it.

Codes are thrown as \`KvcpuError\` (\`src/core/errors.ts\`) or, for \`-smp\` parsing, returned as values
in \`SmpResult.error.code\` (library users get them without exceptions). This page is generated
from the table in \`src/core/error-codes.ts\` by \`npm run gen:errors\`; \`test/error-codes.test.ts\`
fails when it is stale or the sources use a code the table lacks.

Index: [input](#input-and-usage) · [host and environment](#host-and-environment) ·
[-smp](#-smp-qemu-rules) · [topology](#topology-suggest) · [CPU models](#cpu-models) ·
[CPU baseline](#cpu-baseline-libvirt-cpu-map) · [guests and pinning](#guests-pinning-hotplug) ·
[plan](#plan) · [QEMU and QMP](#qemu-and-qmp) · [internal](#internal)
`;

const SECTIONS: { key: ErrorSection; title: string; intro: string }[] = [
  { key: 'input', title: 'Input and usage', intro: `` },
  { key: 'host', title: 'Host and environment', intro: `` },
  {
    key: 'smp',
    title: '-smp (QEMU rules)',
    intro: `These are QEMU's own refusals, reproduced by \`parseSmp\` (\`src/smp/parse-smp.ts\`) and returned as
values. \`kvcpu smp SPEC\` prints them (\`error E_SMP_...: <QEMU's message>\`) and exits **2**;
\`kvcpu smp --batch\` prints them per line and exits 0; \`kvcpu topology suggest\` raises them
(exit 2) if the topology it built would be refused. The message is QEMU's text for the chosen
QEMU version and machine.`,
  },
  {
    key: 'topology',
    title: 'Topology suggest and renderings',
    intro: `\`kvcpu topology suggest\` validates the request against the host before suggesting anything; the renderings (libvirt, KubeVirt, Nova, Proxmox) refuse what their consumer cannot define.\n\n**Rendering warnings (W_*).** What a consumer cannot express is never dropped silently: the document says it in a comment (\`# warning: ... [W_X]\`, \`<!-- warning: ... [W_X] -->\`, \`warnings\` in JSON) and kvcpu writes \`warning W_X: ...\` on stderr; exit status stays 0. \`W_MACHINE_LEVEL\` (level the machine lacks), \`W_MACHINE_MAXCPUS\` (above the machine's vCPU limit), \`W_QEMU_PINS\` (QEMU cannot pin: apply after start), \`W_QEMU_NO_HOTPLUG\` (arm virt and microvm have no vCPU hot-plug in QEMU 7.2), \`W_QEMU_X2APIC\`, \`W_LIBVIRT_FOLDED\`, \`W_LIBVIRT_CLUSTERS\` (clusters need libvirt 10.1: folded into cores; \`--libvirt-version 10.1\`), \`W_LIBVIRT_X2APIC\` (more than 255 vCPUs need q35 + intel IOMMU eim), \`W_LIBVIRT_FLOATING\`, \`W_KUBEVIRT_FOLDED\`, \`W_KUBEVIRT_THREADS\`, \`W_KUBEVIRT_HOTPLUG_SOCKETS\` (whole-socket hot-plug re-layout), \`W_KUBEVIRT_EMULATOR\`, \`W_KUBEVIRT_PINS\` (the CPU manager chooses host CPUs), \`W_KUBEVIRT_HUGEPAGES\`, \`W_KUBEVIRT_NUMA_PASSTHROUGH\`, \`W_KUBEVIRT_NUMA\` (guest NUMA without dedicated CPUs), \`W_KUBEVIRT_MACHINE\`, \`W_NOVA_FOLDED\`, \`W_NOVA_NO_HOTPLUG\`, \`W_NOVA_MACHINE\`, \`W_NOVA_PINS\`, \`W_NOVA_HOST_NODES\`, \`W_PROXMOX_THREADS\`, \`W_PROXMOX_FOLDED\`, \`W_PROXMOX_VCPU_CAP\` ("MAX n vcpus allowed per VM on this node"), \`W_PROXMOX_I440FX\` (255 vCPUs), \`W_PROXMOX_AFFINITY\` (one CPU set for the whole VM).`,
  },
  { key: 'cpu-models', title: 'CPU models', intro: `` },
  {
    key: 'cpu-baseline',
    title: 'CPU baseline (libvirt cpu_map)',
    intro: `Raised by \`kvcpu cpu baseline\`, \`kvcpu cpu compare\` and \`kvcpu cpu pools\` (libvirt-compatible
CPU baseline/compare), exit **2**.`,
  },
  {
    key: 'guests',
    title: 'Guests, pinning, hotplug',
    intro: `A guest is named by \`-name guest=NAME\` or by pid. Pinning is all-or-nothing: on any failure
kvcpu rolls back what it changed and reports the code.`,
  },
  { key: 'plan', title: 'Plan', intro: `` },
  { key: 'qemu', title: 'QEMU and QMP', intro: `` },
  {
    key: 'agent',
    title: 'Agent (kvcpu serve)',
    intro: `HTTP answers carry these codes in \`{"error":{"code","message","hint"}}\` with the status shown; the server stays up. Capability codes keep their meaning over HTTP: input codes (\`E_BAD_INPUT\`, \`E_BAD_CPULIST\`, \`E_BAD_JSON\`, \`E_PIN_INVALID\`, ...) are 400, \`E_GUEST_NOT_FOUND\` and \`E_UNPIN_NO_STATE\` 404, other refused actions 409 (nothing changed: the pin rules roll back), \`E_INTERNAL\` 500 with no details (the agent logs it).`,
  },
  {
    key: 'fleet',
    title: 'Fleet (kvcpu fleet)',
    intro: `Raised by \`kvcpu fleet import|hosts|pools|baseline|placement|health|show|serve\` and the fleet server's API (same JSON error shape and statuses as the agent). A bad file in \`fleet import\` is reported with its path and code while the rest imports (exit 1).`,
  },
  {
    key: 'kubevirt',
    title: 'KubeVirt node labels (kvcpu labels)',
    intro: `Raised by \`kvcpu labels\` and \`kvcpu labels apply\`, exit **2**; \`labels apply\` changes the node in one PATCH or not at all.`,
  },
  { key: 'internal', title: 'Internal', intro: `` },
];

/** Wrap markdown text at `width` columns without breaking inside a word. */
function wrap(text: string, width = 100): string {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out.join('\n');
}

/** docs/errors.md as the table says it. */
export function renderErrorsDoc(): string {
  const codes = Object.keys(ERROR_CODES).sort() as ErrorCode[];
  const known = new Set(SECTIONS.map((s) => s.key));
  const orphan = codes.filter((c) => !known.has(ERROR_CODES[c].section));
  if (orphan.length) throw new Error(`codes in a section this page does not have: ${orphan.join(', ')}`);
  let md = `<!-- Generated by scripts/gen-errors-doc.ts from src/core/error-codes.ts (npm run gen:errors): edit the table, not this file. -->\n${INTRO}`;
  for (const s of SECTIONS) {
    md += `\n## ${s.title}\n\n`;
    if (s.intro) md += `${s.intro}\n\n`;
    for (const c of codes.filter((x) => ERROR_CODES[x].section === s.key)) md += `### ${c}\n${wrap(ERROR_CODES[c].text)}\n\n`;
  }
  return md.replace(/\n+$/, '\n');
}

export const ERRORS_DOC = join(dirname(fileURLToPath(import.meta.url)), '../docs/errors.md');

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(ERRORS_DOC, renderErrorsDoc());
  process.stdout.write(`gen-errors-doc: wrote ${ERRORS_DOC} (${Object.keys(ERROR_CODES).length} codes)\n`);
}
