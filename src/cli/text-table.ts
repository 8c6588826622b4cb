// Query results as text for a terminal: `sluice search` and `sluice lake`.

/** Columns padded to their widest value (cut at 40 characters), one row a line; NULL spelled out. */
export function textTable(columns: string[], rows: Record<string, unknown>[], none = 'no rows'): string {
  if (rows.length === 0) return `${none}\n`;
  const cell = (v: unknown): string => {
    const s = v === null || v === undefined ? 'NULL' : typeof v === 'number' ? String(Number(v.toFixed(4))) : String(v);
    const line = s.replace(/\s+/g, ' ');
    return line.length > 40 ? `${line.slice(0, 39)}…` : line;
  };
  const cells = rows.map((r) => columns.map((c) => cell(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (row: string[]) => row.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n') + '\n';
}
