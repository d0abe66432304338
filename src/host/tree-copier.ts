import { lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Copies single paths of a /proc + /sys tree into another directory, keeping the relative
 * layout and recreating every symlink met on the way as a relative symlink (sysfs is full of
 * them: cpuN/cpufreq -> ../cpufreq/policyN, bus/pci/devices/X -> ../../../devices/pci...),
 * so the copy resolves exactly like the original. Used by `kvcpu capture`.
 */
export class TreeCopier {
  readonly src: string;
  readonly dst: string;
  files = 0;
  links = 0;
  markers = 0;
  /** Paths that could not be copied (unreadable sysfs attributes), relative. */
  readonly skipped: string[] = [];
  private done = new Set<string>();

  constructor(src: string, dst: string) {
    this.src = path.resolve(src);
    this.dst = path.resolve(dst);
  }

  /** Copy a regular file (content), creating parents and links on the way. */
  file(rel: string): boolean {
    return this.walk(rel, 'file', 0);
  }

  /** Create a directory (empty: used for names-only captures such as iommu_groups). */
  dir(rel: string): boolean {
    return this.walk(rel, 'dir', 0);
  }

  /** Recreate a symlink itself (without copying what it points to). */
  link(rel: string): boolean {
    return this.walk(rel, 'link', 0);
  }

  /**
   * Copy a file if readable, else leave a zero-length marker: ACPI tables are root-only and
   * only their presence matters to `kvcpu check`.
   */
  marker(rel: string): boolean {
    if (this.walk(rel, 'file', 0)) return true;
    try {
      lstatSync(path.join(this.src, rel));
    } catch {
      return false; // really absent
    }
    const out = path.join(this.dst, rel);
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, '');
    this.markers++;
    return true;
  }

  private walk(rel: string, mode: 'file' | 'dir' | 'link', depth: number): boolean {
    if (depth > 40) return false; // symlink loop
    const parts = rel.split('/').filter((p) => p !== '' && p !== '.');
    let cur = '';
    for (let i = 0; i < parts.length; i++) {
      const next = cur === '' ? parts[i]! : `${cur}/${parts[i]}`;
      const last = i === parts.length - 1;
      const srcPath = path.join(this.src, next);
      let st;
      try {
        st = lstatSync(srcPath);
      } catch {
        return false;
      }
      if (st.isSymbolicLink()) {
        const target = readlinkSync(srcPath);
        this.makeLink(next, target);
        if (last && mode === 'link') return true;
        const resolved = path.isAbsolute(target)
          ? path.posix.normalize(target.replace(/^\/+/, ''))
          : path.posix.normalize(path.posix.join(path.posix.dirname(next), target));
        if (resolved.startsWith('..')) return false; // points outside the tree
        return this.walk([resolved, ...parts.slice(i + 1)].join('/'), mode, depth + 1);
      }
      if (st.isDirectory()) {
        mkdirSync(path.join(this.dst, next), { recursive: true });
        cur = next;
        continue;
      }
      // A regular file.
      if (!last) return false;
      if (mode === 'dir') return false;
      if (this.done.has(next)) return true;
      const out = path.join(this.dst, next);
      mkdirSync(path.dirname(out), { recursive: true });
      try {
        // sysfs/procfs report sizes of 4096 or 0: read the content instead of copying blocks.
        writeFileSync(out, readFileSync(srcPath));
      } catch {
        this.skipped.push(next);
        return false;
      }
      this.done.add(next);
      this.files++;
      return true;
    }
    if (mode === 'dir') {
      mkdirSync(path.join(this.dst, cur), { recursive: true });
      return true;
    }
    return false;
  }

  private makeLink(rel: string, target: string): void {
    if (this.done.has(rel)) return;
    const out = path.join(this.dst, rel);
    mkdirSync(path.dirname(out), { recursive: true });
    // Absolute targets inside the tree become relative so the copy is self-contained.
    const rt = path.isAbsolute(target) ? path.relative(path.dirname(out), path.join(this.dst, target)) : target;
    try {
      symlinkSync(rt, out);
      this.links++;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    this.done.add(rel);
  }
}
