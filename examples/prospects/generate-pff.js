// The PFF role (grades and a big board) has no openly licensed data: this script makes it, deterministically, from the
// CFR file — the same output on every run — so the example has a fourth provider with the traits real grading feeds
// have: its own ids, the PFR id on only some records, names written its own way (suffixes dropped or added, a typo
// now and then), schools under other names, and a grade and rank per draft class. It is synthetic: no grade here is
// anyone's opinion. `node examples/prospects/generate-pff.js` writes data/pff_grades.csv.
import { readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** A number in [0, 1) fixed by `text`: every choice below depends only on the record it is made for. */
const draw = (text) => createHash('sha256').update(text).digest().readUInt32BE(0) / 2 ** 32;

function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false; else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; } else if (c === '\n') { row.push(field); rows.push(row); row = []; field = ''; } else if (c !== '\r') field += c;
  }
  if (field || row.length) { row.push(field); rows.push(row); }
  const [header, ...body] = rows;
  return body.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ''])));
}

const SCHOOL_NAMES = { USC: 'Southern California', TCU: 'Texas Christian', BYU: 'Brigham Young', 'Boston Col.': 'Boston College', SMU: 'Southern Methodist', 'Central Florida': 'UCF' };

function spell(name, key) {
  const d = draw(`name:${key}`);
  if (d < 0.06 && /\s(Jr\.|II|III)$/.test(name)) return name.replace(/\s(Jr\.|II|III)$/, '');
  if (d < 0.09) {
    // One character dropped from the last name: the typo a grader's spreadsheet picks up.
    const cut = name.lastIndexOf(' ') + 2 + Math.floor(draw(`typo:${key}`) * 3);
    return cut < name.length - 1 ? name.slice(0, cut) + name.slice(cut + 1) : name;
  }
  return name.replace(/\./g, d < 0.5 ? '' : '.');
}

const cfr = parseCsv(readFileSync(join(here, 'data/cfr_combine.csv'), 'utf8'));
const graded = cfr.filter((r) => Number(r.season) >= 2005 && draw(`keep:${r.player_name}:${r.season}`) < 0.8);
const out = graded.map((r) => {
  const key = `${r.player_name}:${r.season}:${r.school}`;
  const grade = Math.round((45 + 50 * draw(`grade:${key}`) * (r.draft_round && r.draft_round !== 'NA' ? 1.1 - Number(r.draft_round) / 10 : 0.6)) * 10) / 10;
  return {
    // The position too: two Derrick Johnsons of Texas were graded in 2005, a CB and an OLB.
    pff_id: `PFF${createHash('sha256').update(`${key}:${r.pos}`).digest('hex').slice(0, 8)}`,
    pfr_id: r.pfr_id !== 'NA' && draw(`id:${key}`) < 0.35 ? r.pfr_id : '',
    name: spell(r.player_name, key),
    school: draw(`school:${key}`) < 0.5 ? SCHOOL_NAMES[r.school] ?? r.school : r.school,
    position: r.pos,
    draft_year: r.season,
    grade: Math.min(grade, 99.9),
  };
});
// The big board: rank by grade within each draft class.
const byYear = new Map();
for (const r of out) byYear.set(r.draft_year, [...(byYear.get(r.draft_year) ?? []), r]);
for (const list of byYear.values()) list.sort((a, b) => b.grade - a.grade || (a.pff_id < b.pff_id ? -1 : 1)).forEach((r, i) => { r.board_rank = i + 1; });
const quote = (v) => (/[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
const cols = ['pff_id', 'pfr_id', 'name', 'school', 'position', 'draft_year', 'grade', 'board_rank'];
writeFileSync(join(here, 'data/pff_grades.csv'), [cols.join(','), ...out.map((r) => cols.map((c) => quote(r[c])).join(','))].join('\n') + '\n');
process.stdout.write(`data/pff_grades.csv: ${out.length} synthetic grades\n`);
