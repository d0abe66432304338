// @ts-check
/**
 * The layer rule: a module may import its own layer and the layers below it (the table in
 * scripts/layers.cjs), never one above. Checked by test/layers.test.ts (part of `npm test`).
 * Tests (*.test.ts, *.test-helpers.ts) may reach anywhere: they drive the CLI.
 */
const { layers } = require('./scripts/layers.cjs');

const dirRe = (dirs) => `^src/(${dirs.join('|')})/`;
const notTests = '\\.(test|test-helpers)\\.ts$';

/** @type {import('dependency-cruiser').IForbiddenRuleType[]} */
const forbidden = layers.slice(0, -1).map((layer, i) => ({
  name: `no-upward-from-${layer.name}`,
  comment: `${layer.name} must not import ${layers
    .slice(i + 1)
    .map((l) => l.name)
    .join(', ')} (layers: ${layers.map((l) => l.name).join(' ← ')})`,
  severity: 'error',
  from: { path: dirRe(layer.dirs), pathNot: notTests },
  to: {
    path: layers
      .slice(i + 1)
      .map((l) => dirRe(l.dirs))
      .concat(['^src/index\\.ts$']),
  },
}));
forbidden.push(
  {
    name: 'no-unlayered-folder',
    comment: 'every folder under src/ belongs to a layer: add a new one to the table in .dependency-cruiser.cjs',
    severity: 'error',
    from: {},
    to: { path: '^src/[^/]+/', pathNot: dirRe(layers.flatMap((l) => l.dirs)) },
  },
  {
    name: 'no-circular',
    comment: 'import cycles make load order matter and hide layering',
    severity: 'error',
    from: { pathNot: notTests },
    to: { circular: true },
  },
);

module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['node_modules', '^dist/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'] },
  },
};
