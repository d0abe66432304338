// @ts-check
/**
 * kvcpu's layers, bottom first: `core ← io ← capabilities ← app ← surfaces`. A module may import
 * its own layer and the layers below, never one above. One table, three readers: the
 * dependency-cruiser rule (.dependency-cruiser.cjs), test/layers.test.ts, and the README's
 * "How it is built" table (the test fails when the README differs from `layersMarkdown()`).
 */
const layers = [
  { name: 'core', dirs: ['core'], what: 'plain helpers with no I/O: errors, cpulists, Python semantics, JSON parsing, terminal formatting (tables, colour)' },
  { name: 'io', dirs: ['io'], what: 'the native addon, stream reading and the per-user cache of slow probes' },
  {
    name: 'capabilities',
    dirs: ['host', 'check', 'smp', 'topology', 'cpu-models', 'cpu-baseline', 'guests', 'plan', 'render', 'qmp', 'report', 'kubevirt'],
    what: 'one folder per question kvcpu answers; they may use each other, and read /proc and /sys under a root prefix',
  },
  { name: 'app', dirs: ['app'], what: 'what every surface calls: the report (kvcpu/report/1 schema, section registry), plan loading, batch answerers' },
  {
    name: 'surfaces',
    dirs: ['cli', 'http', 'metrics', 'store'],
    what: "the CLI, the agent's HTTP API, the Prometheus exporter, the fleet store (and src/index.ts, the library entry)",
  },
];

/** The README table. */
function layersMarkdown() {
  const rows = layers.map((l, i) => `| ${i + 1} | ${l.name} | ${l.dirs.map((d) => '`src/' + d + '/`').join(' ')} | ${l.what} |`);
  return ['| # | layer | folders | what lives there |', '|---|---|---|---|', ...rows].join('\n');
}

module.exports = { layers, layersMarkdown };
