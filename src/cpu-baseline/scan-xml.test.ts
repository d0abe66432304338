import { describe, expect, it } from 'vitest';
import { scanXml } from './scan-xml.ts';

describe('scanXml', () => {
  it('reads concatenated elements, attributes, entities, comments and CDATA', () => {
    const els = scanXml(`<?xml version="1.0"?>\n<!-- c --><cpu a='1' b="x&amp;y"><model>Penryn</model><f/></cpu>\n<cpu><![CDATA[<raw>]]></cpu>`, 't');
    expect(els.map((e) => e.name)).toEqual(['cpu', 'cpu']);
    expect(els[0]!.attrs).toEqual({ a: '1', b: 'x&y' });
    expect(els[0]!.children.map((c) => [c.name, c.text])).toEqual([
      ['model', 'Penryn'],
      ['f', ''],
    ]);
    expect(els[1]!.text).toBe('<raw>');
  });
  it.each([
    ['<cpu><model>x</cpu>', /does not match/],
    ['<cpu>', /unclosed element <cpu>/],
    ['<cpu a=1/>', /malformed tag/],
    ['<cpu a="1" a="2"/>', /duplicate attribute/],
    ['text<cpu/>', /text outside/],
    ['<cpu><!-- x </cpu>', /unterminated comment/],
    ['</cpu>', /does not match|closing tag/],
  ])('rejects %s', (xml, msg) => {
    expect(() => scanXml(xml, 't')).toThrowError(msg);
    try {
      scanXml(xml, 't');
    } catch (e) {
      expect((e as { code: string }).code).toBe('E_BAD_XML');
    }
  });
});
