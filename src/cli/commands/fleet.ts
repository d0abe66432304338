import { Option, type Command } from 'commander';
import {
  DEFAULT_STALE_AFTER_MS,
  filterHosts,
  fleetBaseline,
  fleetHealth,
  fleetPools,
  isStale,
  parseWhere,
  qemuModelNames,
  renderBaselineForms,
  type FleetHost,
} from '../../app/fleet-query.ts';
import { guestCpuFromString, placeGuest } from '../../app/fleet-placement.ts';
import { fleetNodeLabels, kubevirtScheduling } from '../../app/fleet-kubevirt.ts';
import { formatCpulist } from '../../core/cpulist.ts';
import { KvcpuError, quoteInline } from '../../core/errors.ts';
import { guestFromRecord } from '../../plan/parse-guest-spec.ts';
import { baselineJson } from '../../cpu-baseline/render-baseline.ts';
import { loadCpuMap } from '../../cpu-baseline/read-cpu-map.ts';
import { indexCpuMap, type X86Map } from '../../cpu-baseline/x86-map.ts';
import { type FleetStore } from '../../store/fleet-store.ts';
import { defaultFleetDb, openFleetStore } from '../../store/open-fleet-store.ts';
import { importFleet } from '../../store/import-fleet.ts';
import { loadFleetHosts, pickHosts } from '../../store/load-fleet.ts';
import { startFleetServer } from '../../http/start-fleet-server.ts';
import { loadToken } from '../../http/token.ts';
import { kvcpuVersion } from '../../app/sample-views.ts';
import { parseListen } from './serve.ts';
import { act, collect, parseNonNegativeInt, parsePositiveInt, type RegisterCommand } from '../command-kit.ts';
import { paint, renderTable, writeJson, type CliContext } from '../output.ts';
import { progressLine, stderrOf } from '../progress.ts';

const dbOption = () => new Option('--db <db>', 'fleet store: a SQLite file (default $KVCPU_FLEET_DB or ./kvcpu-fleet.db) or postgres://user@host:port/db');
const staleOption = () =>
  new Option('--stale-after <hours>', 'a host not heard from for this long is stale').argParser(parsePositiveInt).default(DEFAULT_STALE_AFTER_MS / 3_600_000);

async function withStore<T>(db: string | undefined, fn: (s: FleetStore) => Promise<T>): Promise<T> {
  const store = await openFleetStore(db ?? defaultFleetDb());
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function x86(): X86Map {
  return indexCpuMap(loadCpuMap({ source: 'auto' }));
}

async function selectHosts(store: FleetStore, opts: { hosts?: string; where?: string; staleAfter: number }): Promise<FleetHost[]> {
  const all = await loadFleetHosts(store);
  const picked = opts.hosts
    ? pickHosts(
        all,
        opts.hosts
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      )
    : all;
  return filterHosts(picked, parseWhere(opts.where), { staleAfterMs: opts.staleAfter * 3_600_000 });
}

function addImport(fleet: Command, ctx: CliContext): void {
  fleet
    .command('import')
    .description(
      'store host reports: `kvcpu report --json`, `kvcpu host --json`, capture trees, libvirt <cpu>/capabilities XML, /proc/cpuinfo (folders are walked)',
    )
    .argument('<paths...>', 'files or folders')
    .addOption(dbOption())
    .option('--rename', 'accept a report whose machine-id is stored under another host name (the host was renamed)')
    .option('--json', 'print the summary as JSON')
    .action(
      act(ctx, async (paths: string[], opts: { db?: string; rename?: boolean; json?: boolean }) => {
        const x = x86();
        const bar = progressLine({ stream: stderrOf(ctx.io), json: !!opts.json, label: 'import' });
        const summary = await withStore(opts.db, (s) =>
          importFleet(s, x, paths, { allowRename: !!opts.rename, ...(bar ? { onProgress: (done: number, total: number) => bar.update(done, total) } : {}) }),
        ).finally(() => bar?.end());
        if (opts.json) writeJson(ctx.io, summary);
        else {
          const p = paint(ctx.io);
          for (const f of summary.failed) ctx.io.err(`${p.red('error')} ${f.code}: ${f.path}: ${f.message}\n`);
          ctx.io.out(
            `${summary.files} input(s): ${summary.stored} report(s) stored, ${summary.unchanged} already stored, ${summary.failed.length} failed; ${summary.hosts.length} host(s)\n`,
          );
        }
        return summary.failed.length ? 1 : 0;
      }),
    );
}

function addHosts(fleet: Command, ctx: CliContext): void {
  fleet
    .command('hosts')
    .description('the stored hosts with their CPU, topology, readiness and guests')
    .addOption(dbOption())
    .option('--where <terms>', 'model=NAME, vendor=V, feature=F|!F, check=ID[:STATUS], name=GLOB, source=KIND, stale, fresh (comma = and)')
    .option('--hosts <names>', 'only these hosts (comma-separated)')
    .addOption(staleOption())
    .option('--json', 'JSON: {"hosts":[{name,stale,lastSeen,summary}]}')
    .action(
      act(ctx, async (opts: { db?: string; where?: string; hosts?: string; staleAfter: number; json?: boolean }) => {
        const hosts = await withStore(opts.db, (s) => selectHosts(s, opts));
        const now = new Date();
        const staleMs = opts.staleAfter * 3_600_000;
        if (opts.json) {
          writeJson(ctx.io, {
            hosts: hosts.map((h) => ({ name: h.summary.name, stale: isStale(h, now, staleMs), lastSeen: h.lastSeen, reports: h.reports, summary: h.summary })),
          });
          return 0;
        }
        const p = paint(ctx.io);
        ctx.io.out(
          renderTable(
            ['HOST', 'VENDOR', 'MODEL', 'FEATURES', 'CPUS', 'TOPOLOGY', 'FAIL', 'GUESTS', 'VCPU:CPU', 'LAST SEEN'],
            hosts.map((h) => {
              const t = h.summary.topology;
              const fails = h.summary.checks.filter((c) => c.status === 'FAIL').length;
              return [
                h.summary.name,
                h.summary.cpu.vendor,
                h.summary.cpu.decodedModel,
                h.summary.cpu.featureCount,
                t?.onlineCpus,
                t ? `${t.sockets}s×${t.coresPerSocket ?? '?'}c×${t.threadsPerCore}t` : null,
                fails ? { text: String(fails), style: p.red } : 0,
                h.summary.guests?.count,
                h.summary.overcommit ? h.summary.overcommit.ratio.toFixed(2) : null,
                isStale(h, now, staleMs) ? { text: `${h.lastSeen} (stale)`, style: p.yellow } : h.lastSeen,
              ];
            }),
            { right: [3, 4, 6, 7, 8] },
          ),
        );
        ctx.io.out(`${hosts.length} host(s)\n`);
        return 0;
      }),
    );
}

function addPools(fleet: Command, ctx: CliContext): void {
  fleet
    .command('pools')
    .description("migration pools over the stored hosts (`kvcpu cpu pools`' algorithm), each pool's baseline and the hosts that hold it back")
    .addOption(dbOption())
    .option('--where <terms>', 'only hosts matching (see `fleet hosts --where`)')
    .option('--max-pools <n>', 'stop merging at N pools', parsePositiveInt)
    .option('--max-loss <n>', 'fewest pools in which no host loses more than N features', parseNonNegativeInt)
    .option('--migratable', 'leave out non-migratable features (invtsc, xsaves)')
    .addOption(staleOption())
    .option('--json', 'JSON: {pools:[{vendor,hostCount,hosts,baseline,level,rendered:{qemu,libvirt,kubevirt,nova},heldBackBy}],tradeoff,chosen,rule}')
    .action(
      act(ctx, async (opts: { db?: string; where?: string; maxPools?: number; maxLoss?: number; migratable?: boolean; staleAfter: number; json?: boolean }) => {
        const x = x86();
        const hosts = await withStore(opts.db, (s) => selectHosts(s, opts));
        const r = fleetPools(x, hosts, {
          migratable: !!opts.migratable,
          ...(opts.maxPools !== undefined ? { maxPools: opts.maxPools } : {}),
          ...(opts.maxLoss !== undefined ? { maxLoss: opts.maxLoss } : {}),
        });
        if (opts.json) {
          writeJson(ctx.io, r);
          return 0;
        }
        ctx.io.out(`${r.hosts} host(s) in ${r.chosen} pool(s): ${r.rule}\n\n`);
        ctx.io.out(
          renderTable(
            ['POOL', 'VENDOR', 'HOSTS', 'MODEL', 'LEVEL', 'FEATURES'],
            r.pools.map((pl, i) => [i + 1, pl.vendor, pl.hostCount, pl.baseline.model, pl.level ?? '32-bit', pl.features]),
            { right: [0, 2, 5] },
          ),
        );
        r.pools.forEach((pl, i) => {
          ctx.io.out(`\npool ${i + 1}: -cpu ${pl.rendered.qemu}\n`);
          for (const h of pl.heldBackBy) {
            const who = h.hostCount > h.hosts.length ? `${h.hosts.join(', ')} (+${h.hostCount - h.hosts.length})` : h.hosts.join(', ');
            const lacks = h.lacks.slice(0, 8).join(' ') + (h.lacks.length > 8 ? ` (+${h.lacks.length - 8})` : '');
            ctx.io.out(
              `  held back by ${quoteInline(who)}: lacks ${lacks}; without ${h.hostCount === 1 ? 'it' : 'them'} the pool gets ${h.modelWithout} (+${h.gain} features)\n`,
            );
          }
        });
        return 0;
      }),
    );
}

function addBaseline(fleet: Command, ctx: CliContext): void {
  fleet
    .command('baseline')
    .description('the migration-safe guest CPU for stored hosts: the same answer `kvcpu cpu baseline` gives for their inputs')
    .addOption(dbOption())
    .option('--hosts <names>', 'these hosts (comma-separated)')
    .option('--where <terms>', 'hosts matching (see `fleet hosts --where`)')
    .option('--migratable', 'leave out non-migratable features (invtsc, xsaves)')
    .option('--features', 'list every feature of the model explicitly')
    .addOption(new Option('--format <format>', 'output form').choices(['libvirt', 'qemu', 'kubevirt', 'nova', 'json']).default('libvirt'))
    .option('--json', 'same as --format json')
    .addOption(staleOption())
    .action(
      act(
        ctx,
        async (opts: {
          db?: string;
          hosts?: string;
          where?: string;
          migratable?: boolean;
          features?: boolean;
          format: string;
          json?: boolean;
          staleAfter: number;
        }) => {
          const format = opts.json ? 'json' : opts.format;
          const x = x86();
          const hosts = await withStore(opts.db, (s) => selectHosts(s, opts));
          const onQemu = format === 'qemu' || format === 'kubevirt' || format === 'nova';
          const r = fleetBaseline(x, hosts, {
            migratable: !!opts.migratable,
            expandFeatures: !!opts.features,
            ...(onQemu ? { allowedModels: qemuModelNames(x) } : {}),
          });
          if (format === 'json') {
            writeJson(ctx.io, { ...baselineJson(r.cpu, 'libvirt'), hosts: hosts.map((h) => h.summary.name) });
            return 0;
          }
          const forms = renderBaselineForms(r.cpu);
          ctx.io.out(format === 'qemu' ? `${forms.qemu}\n` : forms[format as 'libvirt' | 'kubevirt' | 'nova']);
          ctx.io.err(`# baseline of ${hosts.length} host(s)\n`);
          return 0;
        },
      ),
    );
}

function addHealth(fleet: Command, ctx: CliContext): void {
  fleet
    .command('health')
    .description('fleet readiness and overcommit: hosts failing a check, stale hosts, vCPU:CPU per host and fleet-wide')
    .addOption(dbOption())
    .option('--where <terms>', 'hosts matching (see `fleet hosts --where`)')
    .addOption(staleOption())
    .option('--json', 'JSON: {hosts, stale[], failing[{check,hosts}], overcommit[], fleetRatio}')
    .action(
      act(ctx, async (opts: { db?: string; where?: string; staleAfter: number; json?: boolean }) => {
        const hosts = await withStore(opts.db, (s) => selectHosts(s, opts));
        const h = fleetHealth(hosts, { staleAfterMs: opts.staleAfter * 3_600_000 });
        if (opts.json) writeJson(ctx.io, h);
        else {
          ctx.io.out(`${h.hosts} host(s), ${h.stale.length} stale, fleet vCPU:CPU ${h.fleetRatio === null ? '-' : h.fleetRatio.toFixed(2)}\n`);
          if (h.failing.length)
            ctx.io.out(
              '\n' +
                renderTable(
                  ['CHECK', 'FAILING', 'HOSTS'],
                  h.failing.map((f) => [f.check, f.hosts.length, f.hosts.slice(0, 6).join(', ') + (f.hosts.length > 6 ? ' …' : '')]),
                  { right: [1] },
                ),
            );
          if (h.stale.length) ctx.io.out(`\nstale: ${quoteInline(h.stale.slice(0, 20).join(', '))}${h.stale.length > 20 ? ' …' : ''}\n`);
        }
        return h.failing.length || h.stale.length ? 1 : 0;
      }),
    );
}

function addShow(fleet: Command, ctx: CliContext): void {
  fleet
    .command('show')
    .description('one host: its current summary and report history')
    .argument('<host>', 'host name')
    .addOption(dbOption())
    .option('--history <n>', 'how many past reports to list', parsePositiveInt, 10)
    .option('--report', 'print the latest stored `kvcpu report --json` document itself')
    .option('--json', 'JSON: {host, history[]}')
    .action(
      act(ctx, async (name: string, opts: { db?: string; history: number; report?: boolean; json?: boolean }) => {
        await withStore(opts.db, async (s) => {
          const all = await loadFleetHosts(s);
          const [h] = pickHosts(all, [name]);
          if (opts.report) {
            const rep = await s.latestReport(name);
            if (rep === null)
              throw new KvcpuError('E_FLEET_NO_REPORT', `${name}'s latest input was not a kvcpu report`, {
                hint: 'it was imported from CPU XML, cpuinfo or host JSON',
              });
            return writeJson(ctx.io, rep);
          }
          const history = await s.history(name, opts.history);
          if (opts.json) return writeJson(ctx.io, { host: { ...h!, cpu: { ...h!.cpu } }, history });
          const sm = h!.summary;
          ctx.io.out(
            `${quoteInline(`${sm.name}: ${sm.cpu.vendor ?? '?'} ${sm.cpu.modelName ?? ''} (${sm.cpu.decodedModel ?? 'no libvirt model'})`)}, ${sm.cpu.featureCount} features, last seen ${quoteInline(h!.lastSeen)}\n`,
          );
          ctx.io.out(
            renderTable(
              ['RECEIVED', 'GENERATED', 'SOURCE', 'DIGEST'],
              history.map((e) => [e.receivedAt, e.generatedAt, e.summary.source, e.digest.slice(0, 12)]),
            ),
          );
        });
        return 0;
      }),
    );
}

function addPlacement(fleet: Command, ctx: CliContext): void {
  fleet
    .command('placement')
    .description(
      "which stored hosts can run this guest: its CPU model runs there and it fits the free CPUs under the planner's rules; where it would be pinned, best first",
    )
    .addOption(dbOption())
    .option('--cpu <cpu>', "guest CPU as a -cpu string: 'Skylake-Server,+avx512f,-hle' (default: any CPU)")
    .requiredOption('--vcpus <n>', 'guest vCPUs', parsePositiveInt)
    .addOption(new Option('--policy <policy>', 'CPU policy').choices(['dedicated', 'shared', 'mixed']).default('dedicated'))
    .addOption(new Option('--threads <policy>', 'SMT thread policy').choices(['prefer', 'isolate', 'require']).default('prefer'))
    .option('--memory <MiB>', 'guest memory', parsePositiveInt, 1024)
    .option('--where <terms>', 'only hosts matching (see `fleet hosts --where`)')
    .option('--limit <n>', 'list at most N hosts', parsePositiveInt, 20)
    .addOption(staleOption())
    .option('--json', 'JSON: {"candidates":[{host,runnable,missing,fits,failed,vcpus,freeAfter,reasons}]}')
    .action(
      act(
        ctx,
        async (opts: {
          db?: string;
          cpu?: string;
          vcpus: number;
          policy: string;
          threads: string;
          memory: number;
          where?: string;
          limit: number;
          staleAfter: number;
          json?: boolean;
        }) => {
          const x = x86();
          const guestCpu = opts.cpu ? guestCpuFromString(x, opts.cpu) : null;
          const req = guestFromRecord({ name: 'guest', vcpus: opts.vcpus, policy: opts.policy, threads: opts.threads, memory: opts.memory });
          const candidates = await withStore(opts.db, async (s) => {
            return placeGuest(x, await selectHosts(s, opts), guestCpu, req, (name) => s.latestReport(name));
          });
          const fit = candidates.filter((c) => c.fits === true);
          if (opts.json)
            writeJson(ctx.io, {
              candidates: candidates.slice(0, opts.limit),
              fitting: fit.length,
              runnable: candidates.filter((c) => c.runnable).length,
              hosts: candidates.length,
            });
          else {
            const p = paint(ctx.io);
            ctx.io.out(
              renderTable(
                ['HOST', 'CPU', 'FITS', 'FREE AFTER', 'PINNING / WHY NOT'],
                candidates
                  .slice(0, opts.limit)
                  .map((c) => [
                    c.host,
                    c.runnable ? { text: 'runs', style: p.green } : { text: 'no', style: p.red },
                    c.fits === true ? { text: 'yes', style: p.green } : c.fits === null ? { text: 'unknown', style: p.yellow } : { text: 'no', style: p.red },
                    c.freeAfter,
                    c.fits
                      ? c.vcpus.map((v) => `${v.vcpu}→${formatCpulist(v.cpus)}`).join(' ')
                      : c.missing.length
                        ? `lacks ${c.missing.slice(0, 8).join(' ')}${c.missing.length > 8 ? ` (+${c.missing.length - 8})` : ''}`
                        : (c.failed ?? c.reasons[0] ?? ''),
                  ]),
                { right: [3] },
              ),
            );
            ctx.io.out(`${fit.length} of ${candidates.length} host(s) can take it now; ${candidates.filter((c) => c.runnable).length} can run its CPU\n`);
          }
          return fit.length ? 0 : 1;
        },
      ),
    );
}

/** Default port of `kvcpu fleet serve`: next to the host agent's 10193 (see serve.ts). */
export const DEFAULT_FLEET_PORT = 10194;

function addKubevirt(fleet: Command, ctx: CliContext): void {
  fleet
    .command('kubevirt')
    .description(
      'KubeVirt scheduling across stored hosts: which nodes carry the labels a VMI with cpu.model / required cpu.features selects, and which CPU models every node can run',
    )
    .addOption(dbOption())
    .option('--model <model>', "the VMI's spec.domain.cpu.model (node selector cpu-model.node.kubevirt.io/MODEL)")
    .option('--features <list>', "the VMI's cpu.features with policy require, comma-separated libvirt names (cpu-feature.node.kubevirt.io/F)")
    .option('--hosts <names>', 'only these hosts, comma-separated')
    .option('--where <terms>', 'only hosts matching (see `fleet hosts --where`)')
    .option('--labels', "also print each host's labels (as `kvcpu labels` would, from what the store holds)")
    .addOption(staleOption())
    .option('--json', 'JSON: {"matching":[hosts], "lacking":{host:[labels]}, "everywhere":[models], "hosts", "nodes"?:[{host,labels,modelsFrom}]}')
    .action(
      act(
        ctx,
        async (opts: {
          db?: string;
          model?: string;
          features?: string;
          hosts?: string;
          where?: string;
          labels?: boolean;
          staleAfter: number;
          json?: boolean;
        }) => {
          const x = x86();
          const features =
            opts.features
              ?.split(',')
              .map((f) => f.trim())
              .filter(Boolean) ?? [];
          const nodes = await withStore(opts.db, async (s) => {
            const hosts = await selectHosts(s, opts);
            if (!hosts.length) throw new KvcpuError('E_FLEET_NO_HOSTS', 'no stored host matches', { hint: 'kvcpu fleet hosts --db DB lists them' });
            const out = [];
            for (const h of hosts) out.push(fleetNodeLabels(x, h, h.summary.source === 'report' ? await s.latestReport(h.summary.name) : null));
            return out;
          });
          const a = kubevirtScheduling(nodes, { ...(opts.model ? { model: opts.model } : {}), features });
          const asked = Boolean(opts.model || features.length);
          if (opts.json) writeJson(ctx.io, { ...a, ...(opts.labels ? { nodes } : {}) });
          else {
            if (asked) {
              const p = paint(ctx.io);
              ctx.io.out(
                renderTable(
                  ['HOST', 'SCHEDULES', 'LACKS'],
                  nodes.map((n) => [n.host, a.lacking[n.host]!.length ? p.red('no') : p.green('yes'), a.lacking[n.host]!.join(' ')]),
                ),
              );
              ctx.io.out(
                `${a.matching.length} of ${a.hosts} host(s) carry the labels a VMI with ${[opts.model ? `cpu.model ${opts.model}` : '', features.length ? `features ${features.join(',')}` : ''].filter(Boolean).join(' and ')} selects\n`,
              );
            }
            ctx.io.out(`CPU models schedulable on every host (${a.hosts}): ${a.everywhere.join(' ') || 'none'}\n`);
            if (opts.labels)
              for (const n of nodes)
                ctx.io.out(
                  `\n# ${n.host} (models from ${n.modelsFrom})\n${Object.entries(n.labels)
                    .map(([k, v]) => `${k}=${v}`)
                    .join('\n')}\n`,
                );
            ctx.io.err('# from the stored host CPU and report (no domcapabilities/capabilities in the store: no TSC, machine-type, SEV or hyperv labels)\n');
          }
          return asked && !a.matching.length ? 1 : 0;
        },
      ),
    );
}

function addServe(fleet: Command, ctx: CliContext): void {
  fleet
    .command('serve')
    .description('run the fleet server: agents push reports (token), the API and dashboard answer from the store; replicas may share one PostgreSQL')
    .addOption(dbOption())
    .option('--listen <host:port>', `address to listen on (loopback by default; port ${DEFAULT_FLEET_PORT})`, parseListen, {
      host: '127.0.0.1',
      port: DEFAULT_FLEET_PORT,
    })
    .option('--token-file <file>', 'bearer token agents push with (file mode 0600); without it the server only answers reads')
    .option('--allow-host <name>', 'extra Host header name to answer (a load balancer name; repeatable)', collect)
    .addOption(staleOption())
    .option('--json', 'log as JSON lines on stderr ({"time","level","msg"}), for journald/log shippers; errors as the JSON envelope')
    .action(
      act(
        ctx,
        async (opts: { db?: string; listen: { host: string; port: number }; tokenFile?: string; allowHost?: string[]; staleAfter: number; json?: boolean }) => {
          const token = opts.tokenFile ? loadToken(opts.tokenFile) : null;
          const say = (m: string) =>
            ctx.io.err(opts.json ? JSON.stringify({ time: new Date().toISOString(), level: 'info', msg: m }) + '\n' : `kvcpu fleet serve: ${m}\n`);
          let server;
          try {
            server = await startFleetServer({
              db: opts.db ?? defaultFleetDb(),
              host: opts.listen.host,
              port: opts.listen.port,
              token,
              x: x86(),
              version: kvcpuVersion(),
              allowHosts: opts.allowHost ?? [],
              staleAfterMs: opts.staleAfter * 3_600_000,
              log: say,
            });
          } catch (e) {
            const code = (e as NodeJS.ErrnoException).code;
            if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
              throw new KvcpuError('E_LISTEN', `cannot listen on ${opts.listen.host}:${opts.listen.port}: ${code}`, {
                hint: 'choose another --listen address or stop what uses it',
              });
            }
            throw e;
          }
          say(`listening on ${server.url} (${server.store.backend} store; ${token ? 'agents push with the bearer token' : 'read-only: no --token-file'})`);
          await new Promise<void>((resolve) => {
            const stop = () => {
              process.off('SIGTERM', stop);
              process.off('SIGINT', stop);
              say('stopping');
              void server.close().then(resolve, resolve);
            };
            process.on('SIGTERM', stop);
            process.on('SIGINT', stop);
          });
          return 0;
        },
      ),
    );
}

export const registerFleet: RegisterCommand = (program, ctx) => {
  const fleet = program.command('fleet').description('many hosts in one store (SQLite by default, PostgreSQL at scale): pools, baselines, readiness');
  addImport(fleet, ctx);
  addHosts(fleet, ctx);
  addPools(fleet, ctx);
  addBaseline(fleet, ctx);
  addHealth(fleet, ctx);
  addShow(fleet, ctx);
  addPlacement(fleet, ctx);
  addKubevirt(fleet, ctx);
  addServe(fleet, ctx);
};
