// The package as users get it: `npm pack` (which runs the build through `prepare`), install the
// tarball into an empty folder (`--prefer-offline`: the dependency tarballs come from npm's cache
// after `npm ci`; npm may still ask the registry for their metadata), then run the installed
// `kvcpu` (no tsx, no src/) and import the library by its package name, including a subpath
// entry and its type declarations. The consumer allows kvcpu's install script (npm's
// allowScripts), so the native addon is built from the shipped native/ + binding.gyp.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const env = { ...process.env, NO_COLOR: '1', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };

let work: string;
let tarball: string;
let files: string[];
let app: string;

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'kvcpu-pack-'));
  const packed = JSON.parse(
    execFileSync(npm, ['pack', '--json', '--pack-destination', work], { cwd: repoRoot, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }),
  ) as {
    filename: string;
    files: { path: string }[];
  }[];
  tarball = path.join(work, packed[0]!.filename);
  files = packed[0]!.files.map((f) => f.path);
  app = path.join(work, 'app');
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(
    path.join(app, 'package.json'),
    JSON.stringify({ name: 'kvcpu-pack-test', version: '1.0.0', private: true, type: 'module', allowScripts: { kvcpu: true } }),
  );
  execFileSync(npm, ['install', '--prefer-offline', '--no-package-lock', tarball], { cwd: app, env, stdio: ['ignore', 'ignore', 'inherit'] });
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function installedKvcpu(args: string[]) {
  return spawnSync(path.join(app, 'node_modules/.bin/kvcpu'), args, { cwd: app, env, encoding: 'utf8' });
}

describe('npm pack → npm install → kvcpu', () => {
  it('the tarball holds the build, the data and the bin, not the sources or the tests', () => {
    expect(files).toContain('bin/kvcpu.js');
    expect(files).toContain('dist/cli/main.js');
    expect(files).toContain('dist/lib/index.js');
    expect(files).toContain('dist/lib/index.d.ts');
    expect(files).toContain('dist/data/cpu-models/qemu-7.2-x86.json');
    expect(files).toContain('dist/data/cpu-baseline/libvirt-cpu-map.json');
    expect(files.filter((f) => f.startsWith('src/') || f.startsWith('test/'))).toEqual([]);
    expect(files.filter((f) => /test-helpers|\.test\.|shared-vectors|generate-smp-cases/.test(f))).toEqual([]);
    // The dashboards' own script and style sheets are data of the build, not of src/.
    expect(files).toEqual(expect.arrayContaining(['dist/data/http/dashboard.js', 'dist/data/http/fleet.css', 'dist/data/app/cpu-map.css']));
  });

  it('installs without dev dependencies (no tsx, no esbuild), with the native addon built', () => {
    expect(existsSync(path.join(app, 'node_modules/kvcpu/package.json'))).toBe(true);
    expect(existsSync(path.join(app, 'node_modules/kvcpu/build/Release/kvcpu_native.node'))).toBe(true);
    expect(existsSync(path.join(app, 'node_modules/tsx'))).toBe(false);
    expect(existsSync(path.join(app, 'node_modules/esbuild'))).toBe(false);
  });

  it('the installed kvcpu --version prints the package.json version', () => {
    const r = installedKvcpu(['--version']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('the installed kvcpu host --json reads this host', () => {
    const r = installedKvcpu(['host', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const snap = JSON.parse(r.stdout) as { arch: string; cpus: { online: string } };
    expect(snap.arch).toBe(process.arch === 'x64' ? 'x86_64' : snap.arch);
    expect(snap.cpus.online).toMatch(/^\d/);
  });

  it('the installed kvcpu reads its shipped data (CPU model catalog, libvirt cpu_map) from the package', () => {
    const models = installedKvcpu(['models', '--json']);
    expect(models.status, models.stderr).toBe(0);
    expect(JSON.stringify(JSON.parse(models.stdout))).toContain('Skylake-Server');
    const explain = installedKvcpu(['cpu', 'explain', 'Skylake-Server,-hle', '--json']);
    expect(explain.status, explain.stderr).toBe(0);
  });

  it('the installed kvcpu serve answers its dashboard, every asset the page loads, and the API', async () => {
    const child = spawn(path.join(app, 'node_modules/.bin/kvcpu'), ['serve', '--listen', '127.0.0.1:0', '--interval', '5'], {
      cwd: app,
      env: { ...env, KVCPU_STATE_DIR: path.join(work, 'state') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    try {
      const end = Date.now() + 30_000;
      while (!/listening on http:\/\/127\.0\.0\.1:(\d+)/.test(err)) {
        if (Date.now() > end || child.exitCode !== null) throw new Error(`serve did not start: ${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const base = `http://127.0.0.1:${/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(err)![1]}`;
      const page = await fetch(`${base}/`);
      expect(page.status).toBe(200);
      const html = await page.text();
      const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
      expect(assets.sort()).toEqual(['/assets/dashboard.css', '/assets/dashboard.js', '/assets/htmx.min.js']);
      for (const a of assets) {
        const r = await fetch(`${base}${a}`);
        expect(r.status, a).toBe(200);
        expect((await r.text()).length, a).toBeGreaterThan(100);
      }
      const host = await fetch(`${base}/api/v1/host`);
      expect(host.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    }
  }, 60_000);

  it('import("kvcpu") and import("kvcpu/smp") work by package name', () => {
    const script = `
      const kvcpu = await import('kvcpu');
      const smp = await import('kvcpu/smp');
      const r = kvcpu.parseSmp('8,threads=2');
      console.log(JSON.stringify({ version: kvcpu.kvcpuVersion(), ok: r.ok, threads: r.ok && r.topology.threads, cores: r.ok && r.topology.cores,
        slots: smp.enumerateSlots(r.topology).length, cpulist: kvcpu.formatCpulist([3, 0, 1, 2]) }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: app, env, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ version: pkg.version, ok: true, threads: 2, cores: 4, slots: 8, cpulist: '0-3' });
  });

  it('the type declarations resolve for a TypeScript consumer (NodeNext)', () => {
    writeFileSync(
      path.join(app, 'use.ts'),
      `import { parseSmp, type GuestTopology } from 'kvcpu';\nimport { enumerateSlots } from 'kvcpu/smp';\n` +
        `const r = parseSmp('4');\nconst t: GuestTopology | undefined = r.ok ? r.topology : undefined;\nif (t) enumerateSlots(t);\n` +
        `// @ts-expect-error: not a kvcpu export\nimport { nothingHere } from 'kvcpu';\nvoid nothingHere;\n`,
    );
    writeFileSync(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, types: [] },
        files: ['use.ts'],
      }),
    );
    const tsc = path.join(repoRoot, 'node_modules/typescript/bin/tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', app], { cwd: app, env, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
