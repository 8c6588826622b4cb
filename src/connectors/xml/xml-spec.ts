// The `xml` source: options, docs and construction in one place.
import { z } from 'zod';
import type { SourceSpec } from '../../core/connector.js';
import { fileSourceConfig, fileStreamKeys, type FileSourceConfig } from '../file-source/options.js';
import { pathProblems } from './xml-record-path.js';

const xmlKeys = z.object({
  ...fileStreamKeys,
  records: z.string().min(1)
    .describe('Which elements are records. `catalog/book` (or `/catalog/book`) is a path from the root element; `//item` or `//channel/item` matches at any depth (records never nest: inside a record, elements are its fields). A segment is an element name (matched by local name, whatever its namespace), `*`, or `prefix:name` with the prefix declared in `namespaces` (matched by namespace URI).'),
  namespaces: z.record(z.string(), z.string()).default({})
    .describe('Prefixes for `records`, mapped to namespace URIs (e.g. `{ atom: "http://www.w3.org/2005/Atom" }` for `atom:feed/atom:entry`). The document\'s own prefixes do not matter; its namespace URIs do.'),
  attribute_prefix: z.string().default('@')
    .describe('Prefix of attribute columns: `<book id="1">` gives column `@id`. Namespace declarations (`xmlns`) are not columns.'),
  text_key: z.string().min(1).default('#text')
    .describe('Key of an element\'s own text when it also has attributes or child elements: with `nested: json`, `<price currency="EUR">10</price>` is `{"@currency": "EUR", "#text": "10"}`; flattened, the text is the `price` column itself. Text directly inside the record element (beside child elements) is the column of this name.'),
  nested: z.enum(['flatten', 'json']).default('flatten')
    .describe('Child elements with attributes or children of their own: `flatten` makes columns `parent.child` and `parent.@attr` (the element\'s own text is the `parent` column), `json` keeps the element as one json column (`{"@currency": "EUR", "#text": "10"}`). A leaf child (text only) is always a text column; an empty one (`<x/>`) is NULL.'),
  arrays: z.array(z.string().min(1)).default([])
    .describe('Element names that are always a json array, even when a record has only one. Any child element that repeats within a record becomes a json array of its values; listing it here keeps the column\'s type the same for every record.'),
  trim: z.boolean().default(true)
    .describe('Trim leading and trailing whitespace of element text (CDATA included). Whitespace-only text between child elements is always dropped.'),
  names: z.enum(['local', 'qualified']).default('local')
    .describe('Column names from local names (`dc:title` → `title`) or qualified names as written in the file (`dc:title`).'),
});

function checkXml(o: z.output<typeof xmlKeys>, ctx: z.RefinementCtx): void {
  for (const message of pathProblems(o.records, o.namespaces)) ctx.addIssue({ code: 'custom', path: ['records'], message });
}

const xmlStream = xmlKeys.superRefine(checkXml);
export type XmlStreamOptions = z.output<typeof xmlKeys>;

export const xmlSourceSpec: SourceSpec<FileSourceConfig> = {
  kind: 'source',
  type: 'xml',
  status: 'beta',
  description: 'XML files, streamed record by record (never the whole document in memory), plain, gzip- or Zstandard-compressed, local or in an S3 bucket, in '
    + 'the encoding given by `encoding` (a contradicting XML declaration fails the stream with the fix). Records are '
    + 'the elements a `records` path names; attributes, child elements, CDATA, namespaces and internal DTD entities '
    + 'are handled, external entities never fetched. A malformed record goes to the dead-letter queue with its file, '
    + 'line and offset, and reading resumes at the next record; an error between records dead-letters the rest of the file.',
  config: fileSourceConfig.strict(),
  stream: xmlKeys.strict().superRefine(checkXml),
  create: async (config) => new (await import('./xml-source.js')).XmlSource(xmlStream, config.s3),
};
