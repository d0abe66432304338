// `npm run build` (also run by `npm ci` through `prepare`): builds what the package ships.
//   dist/lib/    the library: tsc output with .d.ts, one module per source file (package.json
//                `exports` points here; `import('kvcpu')`, `import('kvcpu/host')`, ...);
//   dist/cli/    the CLI bundled by esbuild: main.js plus one lazy chunk per command (the
//                commands are dynamic imports in src/cli/commands/index.ts), dependencies
//                included, so `kvcpu host` loads one file of host code instead of ~100 modules;
//   dist/data/   the data snapshots of src/<capability>/data/ (read through core dataPath);
//   dist/.build-stamp  when this build ran (bin/kvcpu.js compares it with src/).
// Plain JavaScript so it runs with node alone.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });

await build({
  absWorkingDir: root,
  entryPoints: { main: 'src/cli/main.ts' },
  outdir: 'dist/cli',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // commander, pg and other CommonJS dependencies require() node built-ins inside an ESM
  // bundle. process.getBuiltinModule (Node >= 20.16) serves those without starting Node's
  // CommonJS loader (~4 ms of every start: createRequire initialises it); anything else (an
  // optional pg-native) still goes through a real require.
  banner: {
    js: "import { createRequire as __kvcpuCreateRequire } from 'node:module'; const require = (id) => process.getBuiltinModule(id) ?? __kvcpuCreateRequire(import.meta.url)(id);",
  },
  legalComments: 'none',
  logLevel: 'warning',
});

for (const cap of readdirSync(join(root, 'src'))) {
  const data = join(root, 'src', cap, 'data');
  if (existsSync(data)) cpSync(data, join(dist, 'data', cap), { recursive: true });
}
writeFileSync(join(dist, '.build-stamp'), new Date().toISOString());
