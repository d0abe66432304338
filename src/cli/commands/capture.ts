import { kvcpuVersion } from '../../core/package-root.ts';
import type { Command } from 'commander';
import { captureHost } from '../../host/capture-host.ts';
import { act, type RegisterCommand } from '../command-kit.ts';
import { renderKeyValues, writeJson } from '../output.ts';

/** `kvcpu capture DIR [--root R]`: copy the /proc and /sys files kvcpu reads into DIR. */
export const registerCapture: RegisterCommand = (program: Command, ctx) => {
  program
    .command('capture')
    .description('copy the /proc and /sys files kvcpu reads (CPU topology, NUMA, KVM/IOMMU/SR-IOV facts) into DIR, for `--root DIR` later')
    .argument('<dir>', 'destination directory (new or empty)')
    .option('--root <dir>', 'capture from this tree instead of the live host', '/')
    .option('--force', 'write into a non-empty directory')
    .option('--json', 'print capture.json')
    .action(
      act(ctx, (dir: string, opts: { root: string; force?: boolean; json?: boolean }) => {
        const info = captureHost({ root: opts.root, dir, force: opts.force === true, version: kvcpuVersion() });
        if (opts.json) {
          writeJson(ctx.io, { dir, ...info });
        } else {
          ctx.io.out(
            renderKeyValues([
              ['Captured', dir],
              ['From', info.root],
              ['Host', info.hostname],
              ['Kernel', info.kernel],
              ['Files', info.files],
              ['Symlinks', info.links],
              ['Markers', info.markers],
              ['Unreadable', info.skipped.length ? info.skipped.join(' ') : 'none'],
            ]) + `read it back with: kvcpu host --root ${dir}\n`,
          );
        }
        return 0;
      }),
    );
};
