// A subject's rows found and cut out of Parquet parts by DuckDB (`sluice erase` on a files destination): a part is read
// where it lies (one at a time; DuckDB streams it), with its partition values — which live in its directory name, not
// in the file — added as typed constants, and rewritten by one COPY of the rows that stay, in the part's own column
// order and types and with the compression it was written with. The subject's value is a statement parameter, never
// part of the SQL text. Keys found on the first pass stay in a temporary table of this eraser's connection, so the
// second pass compares them as DuckDB typed them (a timestamp key stays a timestamp).
import type { DuckDBConnection, DuckDBInstance, DuckDBValue } from '@duckdb/node-api';
import { quoteIdent, sqlString } from '../sql/quote.js';
import { hiveType } from './lake-reader.js';
import type { Manifest, ManifestFile } from './manifest.js';
import { type PartEraser, type PartErasure, type SubjectMatch, partHas } from './erase-match.js';

let erasers = 0;

export class ParquetEraser implements PartEraser {
  private readonly keyTable = `erase_keys_${++erasers}`;
  private haveKeys = false;

  private constructor(private readonly conn: DuckDBConnection, private readonly manifest: Manifest, private readonly subject: SubjectMatch) {}

  static async open(instance: DuckDBInstance, manifest: Manifest, subject: SubjectMatch): Promise<ParquetEraser> {
    return new ParquetEraser(await instance.connect(), manifest, subject);
  }

  async collect(file: string, part: ManifestFile): Promise<void> {
    const { column, key, values } = this.subject;
    if (!partHas(part, column) || !key.every((k) => partHas(part, k))) return;
    const cols = key.map((k) => quoteIdent(k)).join(', ');
    const from = this.relation(file, part);
    if (!this.haveKeys) {
      await this.conn.run(`CREATE TEMP TABLE ${this.keyTable} AS SELECT ${cols} FROM ${from} LIMIT 0`);
      this.haveKeys = true;
    }
    await this.conn.run(`INSERT INTO ${this.keyTable} SELECT DISTINCT ${cols} FROM ${from} WHERE ${this.valueMatch()}`, values as DuckDBValue[]);
  }

  async keys(): Promise<unknown[][]> {
    if (!this.haveKeys) return [];
    return (await this.conn.runAndReadAll(`SELECT DISTINCT * FROM ${this.keyTable}`)).getRowsJS() as unknown[][];
  }

  async erase(file: string, part: ManifestFile, out?: string): Promise<PartErasure> {
    const m = this.match(part);
    if (!m) return { matched: 0, kept: part.rows };
    const { sql: match, params } = m;
    const from = this.relation(file, part);
    const [[matched, total]] = (await this.conn.runAndReadAll(`SELECT count(*) FILTER (WHERE ${match}), count(*) FROM ${from}`, params))
      .getRowsJS() as bigint[][];
    const counts = { matched: Number(matched), kept: Number(total) - (this.subject.anonymise ? 0 : Number(matched)) };
    if (!out || counts.matched === 0 || counts.kept === 0) return counts;
    const [[compression]] = (await this.conn.runAndReadAll(`SELECT compression FROM parquet_metadata(${sqlString(file)}) LIMIT 1`)).getRowsJS() as string[][];
    const blank = new Set(this.subject.anonymise ?? []);
    const select = part.columns.map((c) => (blank.has(c.name)
      ? `CASE WHEN ${match} THEN NULL ELSE ${quoteIdent(c.name)} END AS ${quoteIdent(c.name)}` : quoteIdent(c.name))).join(', ');
    const where = this.subject.anonymise ? '' : ` WHERE NOT (${match})`;
    await this.conn.run(`COPY (SELECT ${select} FROM ${from}${where}) TO ${sqlString(out)} (FORMAT parquet, COMPRESSION ${compressionOption(compression)})`, params);
    return counts;
  }

  async close(): Promise<void> {
    this.conn.closeSync();
  }

  /** The part with its partition columns, typed as the manifest says (as `sluice lake` reads them). */
  private relation(file: string, part: ManifestFile): string {
    const consts = Object.entries(part.partition ?? {})
      .map(([c, v]) => `, CAST(${v === null ? 'NULL' : sqlString(v)} AS ${hiveType(this.manifest, c)}) AS ${quoteIdent(c)}`).join('');
    return `(SELECT *${consts} FROM read_parquet(${sqlString(file)})) p`;
  }

  /** Rows holding the value: `$1…` are the values. A NULL never matches (coalesce: NOT NULL would keep nothing). */
  private valueMatch(): string {
    return `coalesce(${quoteIdent(this.subject.column)} IN (${this.subject.values.map((_, i) => `$${i + 1}`).join(', ')}), false)`;
  }

  /** Rows of the subject in this part: holding the value, or a key found on the first pass. Undefined: none can be. */
  private match(part: ManifestFile): { sql: string; params: DuckDBValue[] } | undefined {
    const { column, key } = this.subject;
    const terms: string[] = [];
    if (partHas(part, column)) terms.push(this.valueMatch());
    if (this.haveKeys && key.every((k) => partHas(part, k))) {
      const same = key.map((k) => `k.${quoteIdent(k)} IS NOT DISTINCT FROM p.${quoteIdent(k)}`).join(' AND ');
      terms.push(`EXISTS (SELECT 1 FROM ${this.keyTable} k WHERE ${same})`);
    }
    return terms.length ? { sql: terms.join(' OR '), params: partHas(part, column) ? this.subject.values as DuckDBValue[] : [] } : undefined;
  }
}

/** DuckDB reports UNCOMPRESSED / SNAPPY / GZIP / ZSTD / …; COPY takes the same names. */
const compressionOption = (reported: string | undefined): string => (reported && /^[A-Z0-9_]+$/i.test(reported) ? reported : 'zstd');
