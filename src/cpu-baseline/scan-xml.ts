import { KvcpuError } from '../core/errors.ts';

/** A parsed XML element: name, attributes, child elements and its own text (trimmed). */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const TAG = /<([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:'[^'<]*'|"[^"<]*"))*)\s*(\/?)>/y;
const ATTR = /([A-Za-z_][\w.:-]*)\s*=\s*(?:'([^']*)'|"([^"]*)")/g;
const END = /<\/([A-Za-z_][\w.:-]*)\s*>/y;
const ENTITY = /&(?:(lt|gt|amp|apos|quot)|#(\d+)|#x([0-9a-fA-F]+));/g;
const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };

/** XML 1.0 Char production: a character reference outside it is not well-formed (xmllint refuses it too). */
function legalXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

function decode(s: string, fail: (msg: string) => never): string {
  if (!s.includes('&')) return s;
  return s.replace(ENTITY, (m, name: string | undefined, dec: string | undefined, hex: string | undefined) => {
    if (name) return NAMED[name]!;
    // Digits checked before Number(): `&#1623947803;` made String.fromCodePoint throw a RangeError.
    const digits = dec ?? hex!;
    const cp = digits.length > 8 ? -1 : dec ? Number(dec) : parseInt(hex!, 16);
    if (!legalXmlChar(cp)) fail(`character reference ${m.length > 20 ? `${m.slice(0, 16)}...;` : m} is not a legal XML character`);
    return String.fromCodePoint(cp);
  });
}

/**
 * A small, strict XML reader for CPU definitions. fast-xml-parser (used for libvirt's cpu_map)
 * needs ~1 ms per `<cpu>` element with validation, which made a 10,000-host baseline slower than
 * virsh; this reader checks well-formedness (tag nesting, attribute syntax, comments, CDATA) and
 * builds a plain element tree ~20x faster. Several top-level elements are allowed (virsh
 * cpu-baseline takes concatenated `<cpu>` elements). DTD internal subsets are not supported.
 */
export function scanXml(xml: string, label: string): XmlElement[] {
  const root: XmlElement = { name: '#document', attrs: {}, children: [], text: '' };
  const stack: XmlElement[] = [root];
  const fail = (pos: number, msg: string): never => {
    const line = xml.slice(0, pos).split('\n').length;
    throw new KvcpuError('E_BAD_XML', `${label}: ${msg} (line ${line})`, { hint: 'check the file with `xmllint --noout FILE`' });
  };
  let i = 0;
  const n = xml.length;
  while (i < n) {
    const lt = xml.indexOf('<', i);
    const textEnd = lt < 0 ? n : lt;
    if (textEnd > i) {
      const t = xml.slice(i, textEnd);
      const top = stack[stack.length - 1]!;
      if (stack.length > 1) top.text += decode(t, (msg) => fail(i, msg));
      else if (t.trim()) fail(i, 'text outside any element');
    }
    if (lt < 0) break;
    i = lt;
    if (xml.startsWith('<!--', i)) {
      const e = xml.indexOf('-->', i + 4);
      if (e < 0) fail(i, 'unterminated comment');
      i = e + 3;
    } else if (xml.startsWith('<?', i)) {
      const e = xml.indexOf('?>', i + 2);
      if (e < 0) fail(i, 'unterminated processing instruction');
      i = e + 2;
    } else if (xml.startsWith('<![CDATA[', i)) {
      const e = xml.indexOf(']]>', i + 9);
      if (e < 0) fail(i, 'unterminated CDATA section');
      if (stack.length === 1) fail(i, 'CDATA outside any element');
      stack[stack.length - 1]!.text += xml.slice(i + 9, e);
      i = e + 3;
    } else if (xml.startsWith('<!', i)) {
      const e = xml.indexOf('>', i + 2);
      if (e < 0 || xml.slice(i, e).includes('[')) fail(i, 'unsupported or unterminated declaration');
      i = e + 1;
    } else if (xml.startsWith('</', i)) {
      END.lastIndex = i;
      const m = END.exec(xml);
      if (!m) fail(i, 'malformed closing tag');
      const top = stack.pop()!;
      if (stack.length === 0 || top.name !== m![1]) fail(i, `closing tag </${m![1]}> does not match <${top.name}>`);
      top.text = top.text.trim();
      i = END.lastIndex;
    } else {
      TAG.lastIndex = i;
      const m = TAG.exec(xml);
      if (!m) fail(i, 'malformed tag');
      const attrs: Record<string, string> = {};
      if (m![2]) {
        for (const a of m![2].matchAll(ATTR)) {
          if (a[1]! in attrs) fail(i, `duplicate attribute ${a[1]}`);
          attrs[a[1]!] = decode(a[2] ?? a[3] ?? '', (msg) => fail(i, msg));
        }
      }
      const el: XmlElement = { name: m![1]!, attrs, children: [], text: '' };
      stack[stack.length - 1]!.children.push(el);
      if (!m![3]) stack.push(el);
      i = TAG.lastIndex;
    }
  }
  if (stack.length > 1) fail(n, `unclosed element <${stack[stack.length - 1]!.name}>`);
  return root.children;
}
