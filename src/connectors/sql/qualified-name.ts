// `schema.table` as users write it in a pipeline file: either part may be double-quoted (and then hold dots or
// doubled quotes); an unqualified name takes the default schema.

/** Split `a.b` / `"a.x"."b"` into its unquoted parts. */
export function splitQualified(name: string): string[] {
  const parts = name.match(/"(?:[^"]|"")*"|[^.]+/g) ?? [name];
  return parts.map((p) => (p.startsWith('"') && p.endsWith('"') && p.length >= 2 ? p.slice(1, -1).replace(/""/g, '"') : p));
}

/** [schema, name]: the last part is the name, everything before it the schema (default when there is none). */
export function schemaAndName(name: string, defaultSchema: string): [string, string] {
  const parts = splitQualified(name);
  if (parts.length === 1) return [defaultSchema, parts[0]];
  return [parts.slice(0, -1).join('.'), parts[parts.length - 1]];
}
