import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parseCpulist } from '../../core/cpulist.ts';
import { KvcpuError } from '../../core/errors.ts';
import type { HostSnapshot } from '../../host/types.ts';
import { loadHostSnapshot } from '../../app/load-host.ts';
import { readHost } from '../../host/read-host.ts';
import { buildPlanHost } from '../../plan/build-plan-host.ts';
import { checkNovaAnswer } from '../../plan/check-nova-answer.ts';
import { answerNovaCase } from '../../plan/fit-nova-host.ts';
import { ZED_SEMANTICS } from '../../plan/fit-nova-cell.ts';
import { parseNovaCase, type NovaAnswer, type NovaInstance } from '../../plan/nova-case.ts';
import { answerNovaUsage, parseNovaUsageCase, type NovaUsageAnswer } from '../../plan/nova-usage.ts';
import { getNovaNumaConstraints, parseNovaFlavorRequest, type NovaConstraintsAnswer } from '../../plan/nova-numa-constraints.ts';
import { parseGuestSpec } from '../../plan/parse-guest-spec.ts';
import { parseGuestsFile } from '../../app/guests-file.ts';
import { planGuests } from '../../plan/plan-guests.ts';
import { runningUsage } from '../../plan/running-usage.ts';
import { snapshotGuests } from '../../guests/snapshot-guests.ts';
import { assertPlanValid } from '../../plan/check-plan.ts';
import type { GuestRequest } from '../../plan/plan-types.ts';
import { PLAN_FORMATS, renderPlan, type PlanFormat } from '../../plan/render-plan.ts';
import { act, collect, parseJsonText, readAll, type RegisterCommand } from '../command-kit.ts';
import { reportError, warnRendering, writeJson, type CliContext } from '../output.ts';
import type { RenderNote } from '../../render/render-helpers.ts';

interface PlanOpts {
  root?: string;
  host?: string;
  reserved?: string;
  dedicatedSet?: string;
  sharedSet?: string;
  pinned?: string;
  running?: boolean;
  guest?: string[];
  guests?: string;
  placement: string;
  cpuRatio: string;
  ramRatio: string;
  format?: string;
  json?: boolean;
}

function readText(path: string, ctx: CliContext): Promise<string> | string {
  if (path === '-') return readAll(ctx.io.stdin);
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new KvcpuError('E_NOT_FOUND', `cannot read ${path}: ${(e as Error).message}`, { hint: 'check the path', cause: e });
  }
}

function ratio(v: string, what: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new KvcpuError('E_BAD_INPUT', `${what} must be a positive number, got ${v}`, { hint: 'e.g. 4.0' });
  return n;
}

async function runPlan(opts: PlanOpts, ctx: CliContext): Promise<number> {
  const format = (opts.json ? 'json' : (opts.format ?? 'text')) as PlanFormat;
  if (!PLAN_FORMATS.includes(format)) throw new KvcpuError('E_USAGE', `unknown --format ${format}`, { hint: `use one of ${PLAN_FORMATS.join(', ')}` });
  if (opts.placement !== 'spread' && opts.placement !== 'pack')
    throw new KvcpuError('E_USAGE', `--placement ${opts.placement}`, { hint: 'use spread or pack' });
  if (opts.host && opts.root && opts.root !== '/')
    throw new KvcpuError('E_USAGE', '--host and --root are exclusive', { hint: 'give a `kvcpu host --json` file or a captured tree, not both' });
  let snap: HostSnapshot;
  if (opts.host) {
    snap = loadHostSnapshot(opts.host, await readText(opts.host, ctx));
  } else snap = readHost({ root: opts.root ?? '/' });
  const host = buildPlanHost(snap, { reserved: opts.reserved, dedicated: opts.dedicatedSet, shared: opts.sharedSet });
  const guests: GuestRequest[] = [];
  (opts.guest ?? []).forEach((g, i) => guests.push(parseGuestSpec(g, i)));
  if (opts.guests) guests.push(...parseGuestsFile(parseJsonText(await readText(opts.guests, ctx), opts.guests), opts.guests));
  if (guests.length === 0)
    throw new KvcpuError('E_USAGE', 'no guests to plan', { hint: "add --guest 'name=g1,vcpus=2,policy=dedicated' or --guests FILE.json" });
  const names = new Set<string>();
  for (const g of guests) {
    if (names.has(g.name)) throw new KvcpuError('E_BAD_INPUT', `two guests are named ${g.name}`, { hint: 'guest names identify them in the pin plan' });
    names.add(g.name);
  }
  const live = !opts.host && (opts.root ?? '/') === '/';
  if (opts.running && !live)
    throw new KvcpuError('E_USAGE', '--running needs the live host', {
      hint: 'running guests are read from /proc: drop --root/--host, or give their CPUs with --pinned',
    });
  const running = (opts.running ?? live) ? runningUsage(await snapshotGuests({ host: snap, full: false }), host) : null;
  const pinned = [...new Set([...(opts.pinned ? parseCpulist(opts.pinned) : []), ...(running?.pinned ?? [])])];
  const result = planGuests(
    host,
    guests,
    { placement: opts.placement, cpuAllocationRatio: ratio(opts.cpuRatio, '--cpu-ratio'), ramAllocationRatio: ratio(opts.ramRatio, '--ram-ratio') },
    pinned,
    running?.sharedVcpus,
  );
  if (running) result.notes = [...result.notes, ...(running.notes.length ? running.notes : ['no guests running: planned on an empty host'])];
  // Self-check with the independent checker (check-plan.ts): a violation is a planner bug, never output.
  assertPlanValid(host, guests, result, pinned, 'this is a kvcpu bug: please report it with the command line you ran');
  const notes: RenderNote[] = [];
  const text = renderPlan(result, format, host, notes);
  warnRendering(ctx.io, notes);
  ctx.io.out(text);
  return result.guests.every((g) => g.fits) ? 0 : 1;
}

interface NovaOpts {
  batch?: boolean;
  zed?: boolean;
  explain?: boolean;
  check?: boolean;
  json?: boolean;
}

type NovaLineAnswer = (NovaAnswer & { check?: string[]; instance?: NovaInstance | null }) | NovaUsageAnswer | NovaConstraintsAnswer;

function answerLine(raw: unknown, opts: NovaOpts): NovaLineAnswer {
  const kind = (raw as { kind?: unknown } | null)?.kind;
  if (kind === 'usage') return answerNovaUsage(parseNovaUsageCase(raw));
  if (kind === 'constraints') return getNovaNumaConstraints(parseNovaFlavorRequest(raw));
  const o = raw as Record<string, unknown> | null;
  if (o && typeof o === 'object' && o.instance === undefined && o.flavor !== undefined && kind !== 'fit_cell') {
    // A flavor (+ image) instead of an instance: derive the guest NUMA request as Nova's API does
    // (numa_get_constraints), then fit it. A flavor Nova refuses never reaches the scheduler.
    const req = parseNovaFlavorRequest({ ...(o.flavor as object), image_properties: o.image_properties });
    const derived = getNovaNumaConstraints(req);
    if ('error' in derived) return derived;
    if (derived.instance === null) {
      // No NUMA topology: Nova's NUMATopologyFilter passes every host and nothing is pinned.
      return {
        fits: true,
        cells: [],
        instance: null,
        ...(opts.explain ? { reasons: ['the flavor asks for no NUMA topology, pinning or page size: the guest floats on any host'] } : {}),
      };
    }
    const answer = answerLine({ ...o, instance: derived.instance }, opts) as NovaAnswer;
    return { ...answer, instance: derived.instance };
  }
  const c = parseNovaCase(raw);
  const a = answerNovaCase(c, { semantics: opts.zed ? ZED_SEMANTICS : undefined, explainNovaBugs: !opts.zed });
  const out: NovaAnswer & { check?: string[] } = { fits: a.fits, cells: a.fits ? a.cells : [] };
  if (a.host_after) out.host_after = a.host_after;
  if (a.nova_bug) out.nova_bug = a.nova_bug;
  if (opts.explain) out.reasons = a.reasons;
  if (opts.check) out.check = checkNovaAnswer(c, a, opts.zed ? { freeSmallPages: false, isolateEmulatorWholeCore: false } : {});
  return out;
}

/** `kvcpu plan ...` and `kvcpu plan nova ...`. */
export const registerPlan: RegisterCommand = (program: Command, ctx) => {
  const plan = program
    .command('plan')
    .description('plan guest vCPU pinning on a host: vCPU→CPU maps, emulator/IO CPUs, guest topology, as a pin plan, libvirt, virsh, QEMU, KubeVirt or Nova')
    .option('--root <dir>', 'read the host from a captured tree (default: this host)')
    .option('--host <file>', 'read the host from `kvcpu host --json` output (- = stdin)')
    .option('--reserved <cpus>', 'housekeeping CPUs: never given to guests')
    .option('--dedicated-set <cpus>', 'CPUs for pinned vCPUs (Nova cpu_dedicated_set)')
    .option('--shared-set <cpus>', 'CPUs for floating vCPUs (Nova cpu_shared_set)')
    .option('--pinned <cpus>', 'CPUs already claimed by pinned guests (added to what --running finds)')
    .option('--running', 'count the guests running now: their pinned vCPUs hold CPUs, their floating vCPUs load the nodes (default on the live host)')
    .option('--no-running', 'plan on an empty host, ignoring running guests')
    .option(
      '--guest <spec>',
      "a guest: 'name=g1,vcpus=4,policy=dedicated|shared|mixed,threads=prefer|isolate|require,emulator=share|isolate,numa=1|auto,l3=true,memory=MiB,mask=0-1,iothreads=N' (repeatable)",
      collect,
    )
    .option('--guests <file>', 'guests as JSON: [{"name":"g1","vcpus":4,...}]')
    .option('--placement <how>', 'spread guests over NUMA nodes (emptiest first) or pack them (fullest first)', 'spread')
    .option('--cpu-ratio <n>', 'floating vCPUs per shared CPU (Nova cpu_allocation_ratio)', '4')
    .option('--ram-ratio <n>', 'memory overcommit for shared guests (Nova ram_allocation_ratio)', '1')
    .option('--format <fmt>', `output: ${PLAN_FORMATS.join('|')} (json = pin plan for \`kvcpu pin --plan\`)`)
    .option('--json', 'same as --format json')
    .action(act(ctx, (opts: PlanOpts) => runPlan(opts, ctx)));

  plan
    .command('nova')
    .description(
      "answer Nova-shaped cases (JSON objects of kind fit_host, fit_cell, usage, constraints) like nova.virt.hardware.numa_fit_instance_to_host / numa_usage_from_instance_numa / numa_get_constraints, without Nova's bugs; a fit_host case may give a flavor (+ image_properties) instead of an instance",
    )
    .argument('[case]', 'case JSON file (- = stdin)')
    .option('--batch', 'read one case per line on stdin, write one answer per line')
    .option('--zed', "reproduce Nova 26.2.2's verdicts for the defects fixed upstream later (bugs 1811886, 1994526, isolate emulator CPU)")
    .option('--explain', 'add one reason per guest cell')
    .option('--check', "add the independent validity checker's findings (empty list = valid)")
    .action(
      act(ctx, async (file: string | undefined, opts: NovaOpts) => {
        if (opts.batch) {
          const text = await readAll(ctx.io.stdin);
          let bad = 0;
          for (const line of text.split('\n')) {
            if (!line.trim()) continue;
            try {
              ctx.io.out(JSON.stringify(answerLine(JSON.parse(line), opts)) + '\n');
            } catch (e) {
              bad++;
              const err = e instanceof KvcpuError ? e.toJSON() : { code: 'E_BAD_JSON', message: (e as Error).message };
              ctx.io.out(JSON.stringify({ ok: false, error: err }) + '\n');
            }
          }
          return bad ? 2 : 0;
        }
        if (!file)
          throw new KvcpuError('E_USAGE', 'kvcpu plan nova needs a CASE.json (or - for stdin) or --batch', {
            hint: 'kvcpu plan nova case.json, or kvcpu plan nova --batch < cases.jsonl',
          });
        // The answer is always JSON, so errors about the case are JSON too ({"ok":false,"error":...}).
        try {
          const a = answerLine(parseJsonText(await readText(file, ctx), file), { ...opts });
          writeJson(ctx.io, a);
          return 'fits' in a ? (a.fits ? 0 : 1) : 'error' in a ? 1 : 0;
        } catch (e) {
          return reportError(ctx.io, e, true);
        }
      }),
    );
};
