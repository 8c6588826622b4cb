// The `xml` source: the shared file read loop with the streaming record reader.
import type { z } from 'zod';
import { FileSource, type RecordSink } from '../file-source/file-source.js';
import type { S3Options } from '../s3/s3-spec.js';
import { XmlRecordParser } from './xml-parser.js';
import { compilePath } from './xml-record-path.js';
import type { XmlStreamOptions } from './xml-spec.js';

export const createXmlParser = (o: XmlStreamOptions, file: string, sink: RecordSink): XmlRecordParser => new XmlRecordParser({
  path: compilePath(o.records, o.namespaces),
  attributePrefix: o.attribute_prefix,
  textKey: o.text_key,
  nested: o.nested,
  arrays: new Set(o.arrays),
  trim: o.trim,
  names: o.names,
  maxRecordChars: o.max_record_bytes,
  rejectInvalid: o.invalid_utf8 === 'reject',
  encoding: o.encoding,
}, file, sink);

export class XmlSource extends FileSource<XmlStreamOptions> {
  constructor(options: z.ZodType<XmlStreamOptions>, s3?: S3Options) {
    super('xml', options, createXmlParser, s3);
  }
}
