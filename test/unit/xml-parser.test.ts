import { test } from 'node:test';
import assert from 'node:assert/strict';
import { XmlRecordParser, type XmlOptions } from '../../src/connectors/xml/xml-parser.js';
import { compilePath } from '../../src/connectors/xml/xml-record-path.js';
import { xmlSourceSpec } from '../../src/connectors/xml/xml-spec.js';
import { checkDeclaredEncoding } from '../../src/connectors/xml/xml-encoding.js';
import type { RecordSink } from '../../src/connectors/file-source/file-source.js';
import type { Row } from '../../src/core/types.js';

interface Out {
  rows: { row: Row; line: number; offset?: number }[];
  rejects: { reason: string; raw: string; line: number; offset?: number }[];
}

function parse(xml: string, over: Partial<XmlOptions> & { records?: string; namespaces?: Record<string, string> } = {}, chunk = 7): Out {
  const out: Out = { rows: [], rejects: [] };
  const sink: RecordSink = {
    row: (row, line, offset) => out.rows.push({ row, line, offset }),
    reject: (reason, raw, line, offset) => out.rejects.push({ reason, raw, line, offset }),
  };
  const { records = 'catalog/book', namespaces = {}, ...rest } = over;
  const p = new XmlRecordParser({
    path: compilePath(records, namespaces), attributePrefix: '@', textKey: '#text', nested: 'flatten', arrays: new Set(), trim: true,
    names: 'local', maxRecordChars: 1 << 20, rejectInvalid: true, encoding: 'utf-8', ...rest,
  }, 'f.xml', sink);
  // Small chunks: every token gets split somewhere.
  for (let i = 0; i < xml.length; i += chunk) p.push({ text: xml.slice(i, i + chunk) });
  p.end();
  return out;
}

const rows = (o: Out) => o.rows.map((r) => r.row);

const CATALOG = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE catalog [ <!ENTITY pub "O&apos;Reilly &amp; Co"> ]>
<!-- a comment with <book> inside -->
<catalog xmlns:dc="http://purl.org/dc/elements/1.1/">
  <book id="bk101" lang='en'>
    <dc:title>XML &lt;Developer&gt; Guide</dc:title>
    <price currency="EUR">44.95</price>
    <author><first>Matthew</first><last>Gambardella</last></author>
    <tag>xml</tag><tag>guide</tag>
    <publisher>&pub;</publisher>
    <note><![CDATA[<b>bold</b> & raw]]></note>
    <empty/>
    <blank>   </blank>
    <sym>&#x41;&#66;&#x1F600;</sym>
  </book>
  <book id="bk102"><title>Second</title></book>
</catalog>
`;

test('records path, attributes, flattened children, repeated elements, entities, CDATA, comments and DOCTYPE', () => {
  const out = parse(CATALOG);
  assert.deepEqual(out.rejects, []);
  assert.deepEqual(rows(out), [
    {
      '@id': 'bk101', '@lang': 'en', title: 'XML <Developer> Guide', price: '44.95', 'price.@currency': 'EUR',
      'author.first': 'Matthew', 'author.last': 'Gambardella', tag: ['xml', 'guide'], publisher: "O'Reilly & Co",
      note: '<b>bold</b> & raw', empty: null, blank: '', sym: 'AB😀',
    },
    { '@id': 'bk102', title: 'Second' },
  ]);
  assert.deepEqual(out.rows.map((r) => r.line), [5, 16]);
  assert.equal(CATALOG.slice(out.rows[1].offset!, out.rows[1].offset! + 18), '<book id="bk102"><');
});

test('nested: json keeps elements whole; arrays forces arrays; qualified names; other prefix and text key', () => {
  const [first] = rows(parse(CATALOG, { nested: 'json', arrays: new Set(['dc:title']), names: 'qualified', attributePrefix: '_', textKey: 'value' }));
  assert.deepEqual(first.price, { _currency: 'EUR', value: '44.95' });
  assert.deepEqual(first.author, { first: 'Matthew', last: 'Gambardella' });
  assert.deepEqual(first['dc:title'], ['XML <Developer> Guide']);
  assert.equal(first._id, 'bk101');
});

test('namespaces: default namespace, prefixed records path matched by URI, //anywhere paths', () => {
  const atom = `<feed xmlns="http://www.w3.org/2005/Atom" xmlns:x="urn:other">
    <entry><id>1</id><x:extra a="b">e</x:extra></entry>
    <x:entry><id>not atom</id></x:entry>
    <group><entry><id>2</id></entry></group>
  </feed>`;
  const ns = { a: 'http://www.w3.org/2005/Atom' };
  assert.deepEqual(rows(parse(atom, { records: 'a:feed/a:entry', namespaces: ns })).map((r) => r.id), ['1']);
  // By local name, any namespace: both entries directly under the feed.
  assert.deepEqual(rows(parse(atom, { records: 'feed/entry' })).map((r) => r.id), ['1', 'not atom']);
  assert.deepEqual(rows(parse(atom, { records: '//a:entry', namespaces: ns })).map((r) => r.id), ['1', '2']);
  assert.deepEqual(rows(parse(atom, { records: '//group/entry' })).map((r) => r.id), ['2']);
  assert.deepEqual(rows(parse(atom, { records: 'feed/*' })).length, 3);
  // An undeclared prefix is malformed (namespace well-formedness).
  const bad = parse('<r><item><p:x>1</p:x></item><item><y>2</y></item></r>', { records: 'r/item' });
  assert.match(bad.rejects[0].reason, /prefix "p" .* not declared/);
  assert.deepEqual(rows(bad), [{ y: '2' }]);
});

test('malformed records go to the DLQ with their line; reading resumes at the next record', () => {
  const xml = `<catalog>
  <book><t>ok 1</t></book>
  <book><t>fish & chips</t></book>
  <book><t>ok 2</t></book>
  <book><t>bad</u></book>
  <book id="1" id="2"><t>dup</t></book>
  <book><t>&nope;</t></book>
  <book><t>ok 3</t></book>
</catalog>`;
  for (const chunk of [1, 5, 64, 100000]) {
    const out = parse(xml, {}, chunk);
    assert.deepEqual(rows(out).map((r) => r.t), ['ok 1', 'ok 2', 'ok 3'], `chunk ${chunk}`);
    assert.deepEqual(out.rejects.map((r) => r.line), [3, 5, 6, 7], `chunk ${chunk}`);
    assert.match(out.rejects[0].reason, /^malformed XML at line 3: "&" must start an entity reference/);
    assert.match(out.rejects[0].raw, /^<book><t>fish & chips/);
    assert.match(out.rejects[1].reason, /end tag <\/u> does not match <t>/);
    assert.match(out.rejects[2].reason, /duplicate attribute "id" in <book>$/);
    assert.match(out.rejects[3].reason, /undefined entity &nope;/);
  }
});

test('the error line is where the error is; the record keeps the line it starts on', () => {
  const out = parse('<c>\n<book>\n<t>one\ntwo & three</t>\n</book>\n<book><t>ok</t></book></c>', { records: 'c/book' });
  assert.deepEqual(rows(out), [{ t: 'ok' }]);
  assert.equal(out.rejects[0].line, 2);
  assert.match(out.rejects[0].reason, /^malformed XML at line 4:/);
});

test('truncated files, junk between records', () => {
  // A malformed element between records: nothing after it can be trusted.
  const dup = parse('<c><book><t>1</t></book><x id="1" id="2"/><book><t>3</t></book></c>', { records: 'c/book' });
  assert.deepEqual(rows(dup), [{ t: '1' }]);
  assert.equal(dup.rejects.length, 1);
  assert.match(dup.rejects[0].reason, /duplicate attribute "id".*the rest of the file is not read/);

  const truncated = parse('<c>\n<book><t>1</t></book>\n<book><t>2</t>', { records: 'c/book' });
  assert.deepEqual(rows(truncated), [{ t: '1' }]);
  assert.deepEqual(truncated.rejects.map((r) => [r.reason, r.line]), [['unexpected end of file inside <book>', 3]]);

  const unclosed = parse('<c>\n<book><t>1</t></book>\n', { records: 'c/book' });
  assert.deepEqual(unclosed.rejects.map((r) => r.reason), ['unexpected end of file: <c> is not closed']);

  const junk = parse('<c><book><t>1</t></book></x><book><t>2</t></book></c>', { records: 'c/book' });
  assert.deepEqual(rows(junk), [{ t: '1' }]);
  assert.match(junk.rejects[0].reason, /end tag <\/x> does not match <c>; the rest of the file is not read/);
});

test('bounded: an oversized record is rejected with its head, the next one loads', () => {
  const big = `<c><book><t>${'x'.repeat(5000)}</t></book><book><t>small</t></book></c>`;
  const out = parse(big, { records: 'c/book', maxRecordChars: 1000 }, 256);
  assert.deepEqual(rows(out), [{ t: 'small' }]);
  assert.match(out.rejects[0].reason, /record longer than max_record_bytes \(1000 characters\)/);
  assert.ok(out.rejects[0].raw.length <= 1024);
});

test('entity expansion is bounded (billion laughs), external entities are never resolved', () => {
  const lol = `<!DOCTYPE c [<!ENTITY a "${'x'.repeat(100)}"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY d "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">]><c><book>&e;</book></c>`;
  const out = parse(lol, { records: 'c/book' });
  assert.equal(out.rows.length, 0);
  assert.match(out.rejects[0].reason, /entity "e" expands to more than/);
  const xxe = parse('<!DOCTYPE c [<!ENTITY f SYSTEM "file:///etc/passwd">]><c><book><t>&f;</t></book></c>', { records: 'c/book' });
  assert.match(xxe.rejects[0].reason, /undefined entity &f;/);
});

test('a records path that cannot match the root fails the stream; the spec validates paths', () => {
  assert.throws(() => parse('<library><book/></library>'), /records path "catalog\/book" starts at <catalog>, but the root element is <library>/);
  assert.throws(() => xmlSourceSpec.stream.parse({ path: 'a.xml', records: 'x:feed/entry' }), /prefix \\"x\\" is not declared/);
  assert.throws(() => xmlSourceSpec.stream.parse({ path: 'a.xml', records: '//' }), /element path/);
  assert.throws(() => xmlSourceSpec.stream.parse({ path: 'a.xml' }));
  assert.equal(xmlSourceSpec.stream.parse({ path: 'a.xml', records: '//item' }).attribute_prefix, '@');
});

test('the XML declaration encoding must agree with the stream encoding', () => {
  assert.equal(checkDeclaredEncoding('UTF-8', 'utf-8'), undefined);
  assert.equal(checkDeclaredEncoding('ISO-8859-1', 'latin1'), undefined);
  assert.equal(checkDeclaredEncoding('UTF-16', 'utf-16le'), undefined);
  assert.match(checkDeclaredEncoding('ISO-8859-1', 'utf-8')!, /set `encoding: ISO-8859-1`/);
  assert.throws(() => parse('<?xml version="1.0" encoding="windows-1252"?><catalog/>'), /encoding="windows-1252"/);
});
