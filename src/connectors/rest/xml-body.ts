// XML response bodies for the REST source: the page's records are the elements the `records` path names (as in the
// `xml` file source: `rss/channel/item`, `//entry`), each read with the same record builder. A malformed body is a
// transport failure to the HTTP client (retried, then a clear error), like a truncated JSON body.
import type { Row } from '../../core/types.js';
import { DEFAULT_MAX_RECORD_BYTES } from '../file-source/options.js';
import { XmlRecordParser } from '../xml/xml-parser.js';
import { compilePath } from '../xml/xml-record-path.js';

/** A body parser for the HTTP client: the records of one XML page as rows. */
export function xmlRecords(records: string, namespaces: Record<string, string> = {}): (text: string, url: string) => Row[] {
  const path = compilePath(records, namespaces);
  return (text, url) => {
    const rows: Row[] = [];
    const problems: string[] = [];
    const parser = new XmlRecordParser({
      path, attributePrefix: '@', textKey: '#text', nested: 'flatten', arrays: new Set(), trim: true, names: 'local',
      maxRecordChars: DEFAULT_MAX_RECORD_BYTES, rejectInvalid: false, encoding: 'utf-8',
    }, url, { row: (r) => rows.push(r), reject: (reason, _raw, line) => problems.push(`line ${line}: ${reason}`) });
    parser.push({ text });
    parser.end();
    if (problems.length) throw new Error(`malformed XML body (${problems.slice(0, 3).join('; ')})`);
    return rows;
  };
}
