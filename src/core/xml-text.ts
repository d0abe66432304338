/**
 * Text for hand-written XML (libvirt domain and CPU snippets): one escaper for every emitter.
 * Attribute values are written in single quotes, so `'` is escaped as well as `"`; `>` too,
 * as libvirt's own virBufferEscapeString does (src/util/virbuffer.c).
 */
export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');
}

/** An XML comment; comments may not contain `--` (XML 1.0 §2.5), so it is split. */
export function xmlComment(s: string): string {
  return `<!-- ${s.replace(/--/g, '- -')} -->`;
}
