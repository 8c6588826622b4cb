// The synthetic players of `npm run bench -- resolve`: entities (name, draft year, position, school) described by four
// sources of different shapes and noise, with the truth (each record's entity) kept beside. Deterministic: one seed,
// one data set. What each source does wrong is what real providers do:
// - combine: the reference — exact ids (pfr_id) for every record, the name in one column, typos in 5%;
// - nfl: first and last name in two columns (swapped in 2%), typos in 8%, school aliases (`Southern California`),
//   no school in 5%;
// - scouts: nicknames as initials written with or without dots (`C.J.`/`CJ`), names in capitals in 30%, typos in 6%,
//   no school in 10%, the combine's id in half its records;
// - draft: positions abbreviated (`T`, `G`), school aliases, typos in 6%, 3% of rows written twice (deduplicated by
//   the pipeline, as a draft feed's repeated rows are).
// Suffixes (`Jr.`, `II`) are written by some sources and not others. 1% of entities take the full name of another of
// their block (same year and position), at another school mostly: they measure false merges.
import { random } from '../test/support/random.js';

const FIRST = `michael christopher matthew joshua david james daniel robert john joseph jason justin andrew ryan william
brian brandon jonathan nicholas anthony eric adam kevin thomas steven timothy richard jeremy jeffrey kyle benjamin aaron
charles mark jacob stephen patrick scott nathan paul sean travis zachary dustin gregory kenneth jose tyler jesse
alexander bryan samuel derek bradley chad shawn jordan edward jared peter cody corey marcus keith juan donald ronald
phillip george cory joel shane douglas antonio raymond carlos brett gary alex nathaniel craig ian luis derrick erik
casey philip frank evan gabriel victor vincent larry austin brent seth wesley dennis todd christian trevor jeremiah
jerry randy terry curtis devin lucas mario dominic jeffery johnny gerald darrell calvin dante tony marquis trent
jamal darius deshawn demetrius terrell andre lamar cedric reggie malik tavon jalen deandre rashad tyrone dwayne
marlon quinton desmond jamar darnell brandin keenan jarvis maurice kendall leonard melvin orlando rodney roderick
russell sterling stanley willie xavier zach landon logan mason hunter connor colton garrett spencer tanner tucker
blake brady carson chase cole dalton grant jake luke max noah owen parker reid tate wyatt ahmad amari bryce damon
emmanuel isaiah josiah khalil micah nolan quincy roman saquon trey ezekiel jameis baker lamarcus odell julio deebo
jaylen jaire minkah quenton roquan tremaine vita denzel devonta marshon trayvon kadarius najee zaven`;

const LAST = `smith johnson williams brown jones miller davis garcia rodriguez wilson martinez anderson taylor thomas
hernandez moore martin jackson thompson white lopez lee gonzalez harris clark lewis robinson walker perez hall young
allen sanchez wright king scott green baker adams nelson hill ramirez campbell mitchell roberts carter phillips evans
turner torres parker collins edwards stewart flores morris nguyen murphy rivera cook rogers morgan peterson cooper
reed bailey bell gomez kelly howard ward cox diaz richardson wood watson brooks bennett gray james reyes cruz hughes
price myers long foster sanders ross morales powell sullivan russell ortiz jenkins gutierrez perry butler barnes
fisher henderson coleman simmons patterson jordan reynolds hamilton graham kim gonzales alexander ramos wallace griffin
west cole hayes chavez gibson bryant ellis stevens murray ford marshall owens mcdonald harrison ruiz kennedy wells
alvarez woods mendoza castillo olson webb washington tucker freeman burns henry vasquez snyder simpson crawford
jimenez porter mason shaw gordon wagner hunter romero hicks dixon hunt palmer robertson black holmes stone meyer boyd
mills warren fox rose rice moreno schmidt patel ferguson nichols herrera medina ryan fernandez weaver daniels stephens
gardner payne kelley dunn pierce arnold tran spencer peters hawkins grant hansen castro hoffman hart elliott cunningham
knight bradley carroll hudson duncan armstrong berry andrews johnston ray lane riley carpenter perkins aguilar silva
richards willis matthews chapman lawrence garza vargas watkins wheeler larson carlson harper george greene burke
guzman morrison munoz jacobs obrien lawson franklin lynch bishop carr salazar austin mendez gilbert jensen williamson
montgomery harvey oliver howell dean hanson weber garrett sims burton fuller soto mccoy welch chen schultz walters
reid fields walsh little fowler bowman davidson may day schneider newman brewer lucas holland wong banks santos
curtis pearson delgado valdez pena rios douglas sandoval barrett hopkins keller guerrero stanley bates alvarado beck
ortega wade estrada contreras barnett caldwell santiago lambert powers chambers nunez craig leonard lowe rhodes byrd
gregory shelton frazier becker maldonado fleming vega sutton cohen jennings parks mcdaniel watts barker norris vaughn`;

const POSITIONS = ['QB', 'RB', 'WR', 'TE', 'OT', 'OG', 'C', 'DE', 'DT', 'LB', 'CB', 'S'];
/** How the draft feed abbreviates some positions; the pipeline maps them back through the block's aliases. */
export const POSITION_ALIASES: Record<string, string> = { T: 'OT', G: 'OG' };

/** Schools: the name the combine writes, and the other one some sources write (mapped back by the alias table). */
const SCHOOLS: [string, string?][] = [
  ['USC', 'Southern California'], ['LSU', 'Louisiana State'], ['Ole Miss', 'Mississippi'], ['Pittsburgh', 'Pitt'],
  ['BYU', 'Brigham Young'], ['TCU', 'Texas Christian'], ['UCF', 'Central Florida'], ['SMU', 'Southern Methodist'],
  ['UCLA', 'California-Los Angeles'], ['Miami (FL)', 'Miami'], ['Texas A&M', 'Texas AM'], ['NC State', 'North Carolina State'],
  ['UNLV', 'Nevada-Las Vegas'], ['UTEP', 'Texas-El Paso'], ['Penn State', 'Pennsylvania State'], ['Boston College', 'BC'],
  ['Alabama'], ['Georgia'], ['Ohio State'], ['Michigan'], ['Clemson'], ['Oklahoma'], ['Texas'], ['Florida'],
  ['Florida State'], ['Notre Dame'], ['Oregon'], ['Washington'], ['Wisconsin'], ['Iowa'], ['Auburn'], ['Tennessee'],
  ['Stanford'], ['Nebraska'], ['Virginia Tech'], ['West Virginia'], ['Arkansas'], ['Missouri'], ['Kentucky'],
  ['South Carolina'], ['Mississippi State'], ['Oklahoma State'], ['Kansas State'], ['Baylor'], ['Utah'],
  ['Arizona State'], ['Arizona'], ['Colorado'], ['California'], ['Purdue'], ['Illinois'], ['Minnesota'], ['Maryland'],
  ['Rutgers'], ['Northwestern'], ['Indiana'], ['Michigan State'], ['Louisville'], ['Virginia'], ['Duke'],
  ['North Carolina'], ['Georgia Tech'], ['Syracuse'], ['Wake Forest'], ['Vanderbilt'], ['Houston'], ['Memphis'],
  ['Cincinnati'], ['Boise State'], ['Fresno State'], ['San Diego State'], ['Toledo'], ['Marshall'], ['Temple'],
  ['Tulane'], ['Navy'], ['Army'], ['Air Force'], ['Appalachian State'], ['Georgia Southern'], ['Troy'],
  ['Louisiana Tech'], ['Southern Miss'], ['Western Michigan'], ['Northern Illinois'], ['Central Michigan'],
  ['Bowling Green'], ['Ohio'], ['Akron'], ['Buffalo'], ['Kent State'], ['Ball State'], ['Hawaii'], ['Wyoming'],
  ['Utah State'], ['Colorado State'], ['New Mexico'], ['Nevada'], ['San Jose State'], ['Oregon State'],
  ['Washington State'], ['Iowa State'], ['Kansas'], ['Texas Tech'], ['Rice'], ['North Texas'], ['Delaware'],
  ['James Madison'], ['Villanova'], ['Montana'], ['North Dakota State'], ['South Dakota State'], ['Grambling'],
  ['Jackson State'], ['Florida A&M', 'Florida AM'], ['Tennessee State'], ['Alabama State'],
];

/** The alias tables the pipeline is given: every other spelling → the combine's. */
export const SCHOOL_ALIASES: Record<string, string> = Object.fromEntries(SCHOOLS.filter((s) => s[1]).map(([name, alias]) => [alias!, name]));

const INITIALS = ['C.J.', 'A.J.', 'T.J.', 'D.J.', 'J.J.', 'R.J.', 'K.J.', 'J.T.', 'B.J.', 'P.J.'];
const SUFFIXES = ['Jr.', 'II', 'III'];

export const SOURCES = ['combine', 'nfl', 'scouts', 'draft'] as const;
export type SourceName = typeof SOURCES[number];

/** A record as the pipeline's transforms leave it (what `resolve` reads), with its entity. */
export interface BenchRecord {
  source: SourceName;
  key: string;
  fullName: string;
  year: number;
  position: string;
  school: string | null;
  pfrId: string | null;
  entity: number;
}

interface Entity { first: string; last: string; suffix: string; year: number; position: string; school: number }

export interface Generated {
  /** Every distinct record (a repeated draft row once), in source order. */
  records: BenchRecord[];
  /** Each entity's true full name (first and last), to tell false merges of namesakes from others. */
  names: string[];
  entities: number;
}

/** Records per entity on average: the sources cover 90%, 80%, 70% and 60% of the entities. */
const COVERAGE: Record<SourceName, number> = { combine: 0.9, nfl: 0.8, scouts: 0.7, draft: 0.6 };
const PER_ENTITY = Object.values(COVERAGE).reduce((a, b) => a + b, 0);

const words = (s: string): string[] => s.split(/\s+/).filter(Boolean);
const capital = (w: string): string => w.charAt(0).toUpperCase() + w.slice(1);
const csv = (v: string | number | null): string => (v === null ? '' : /[",\n]/.test(String(v)) ? `"${String(v).replaceAll('"', '""')}"` : String(v));

/**
 * About `records` records (the sources' coverage is drawn), from `seed`; each source's CSV text, in its own shape, is
 * handed to `write` and not kept (at 1M records, text the matcher's timing would collect garbage around).
 */
export function generate(records: number, write: (source: SourceName, csv: string) => void, seed = 7): Generated {
  const rnd = random(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)];
  // Skewed towards the head of a list, as name frequencies are: a few names are common, most rare.
  const skewed = <T>(list: readonly T[]): T => list[Math.floor(rnd() * rnd() * list.length)];
  const first = words(FIRST).map(capital);
  const last = words(LAST).map(capital);
  const count = Math.round(records / PER_ENTITY);

  const entities: Entity[] = [];
  const byBlock = new Map<string, number[]>();
  for (let e = 0; e < count; e++) {
    const year = 2000 + Math.floor(rnd() * 23);
    const position = pick(POSITIONS);
    const block = `${year}|${position}`;
    const mates = byBlock.get(block);
    const namesake = mates && rnd() < 0.01 ? entities[pick(mates)] : undefined;
    entities.push({
      first: namesake?.first ?? (rnd() < 0.03 ? pick(INITIALS) : skewed(first)),
      last: namesake?.last ?? skewed(last),
      suffix: rnd() < 0.05 ? pick(SUFFIXES) : '',
      year, position,
      school: namesake && rnd() < 0.2 ? namesake.school : Math.floor(rnd() * SCHOOLS.length),
    });
    if (mates) mates.push(e);
    else byBlock.set(block, [e]);
  }

  /** One edit — substitution, insertion, deletion or transposition — at a random place of a word of 3+ letters. */
  const typo = (w: string): string => {
    if (w.length < 3) return w;
    const i = 1 + Math.floor(rnd() * (w.length - 2));
    const c = String.fromCharCode(97 + Math.floor(rnd() * 26));
    switch (Math.floor(rnd() * 4)) {
      case 0: return w.slice(0, i) + c + w.slice(i + 1);
      case 1: return w.slice(0, i) + c + w.slice(i);
      case 2: return w.slice(0, i) + w.slice(i + 1);
      default: return w.slice(0, i - 1) + w[i] + w[i - 1] + w.slice(i + 1);
    }
  };
  const noisy = (e: Entity, typos: number): [string, string] => {
    const f = rnd() < typos / 2 ? typo(e.first) : e.first;
    const l = rnd() < typos / 2 ? typo(e.last) : e.last;
    return [f, e.suffix && rnd() < 0.5 ? `${l} ${e.suffix}` : l];
  };
  const school = (e: Entity, aliased: number, missing: number): string | null => {
    if (rnd() < missing) return null;
    const [name, alias] = SCHOOLS[e.school];
    return alias && rnd() < aliased ? alias : name;
  };

  const out: BenchRecord[] = [];
  const lines: Record<SourceName, string[]> = {
    combine: ['pfr_id,player_name,pos,school,draft_year'],
    nfl: ['nfl_id,first_name,last_name,college,position,season'],
    scouts: ['scout_id,pfr_ref,name,position,school,year'],
    draft: [',round,pick,team,name,pos,year,college'],
  };
  const picks = new Map<number, number>();
  entities.forEach((e, n) => {
    const pfr = `P${n}`;
    if (rnd() < COVERAGE.combine) {
      const [f, l] = noisy(e, 0.05);
      const s = school(e, 0, 0);
      out.push({ source: 'combine', key: pfr, fullName: `${f} ${l}`, year: e.year, position: e.position, school: s, pfrId: pfr, entity: n });
      lines.combine.push([pfr, `${f} ${l}`, e.position, s, e.year].map(csv).join(','));
    }
    if (rnd() < COVERAGE.nfl) {
      const [f, l] = noisy(e, 0.08);
      const [a, b] = rnd() < 0.02 ? [l, f] : [f, l];
      const s = school(e, 0.5, 0.05);
      const key = `N${out.length}`;
      out.push({ source: 'nfl', key, fullName: `${a} ${b}`, year: e.year, position: e.position, school: s, pfrId: null, entity: n });
      lines.nfl.push([key, a, b, s, e.position, e.year].map(csv).join(','));
    }
    if (rnd() < COVERAGE.scouts) {
      const [f0, l0] = noisy(e, 0.06);
      const f = f0.includes('.') && rnd() < 0.5 ? f0.replaceAll('.', '') : f0;
      const name = rnd() < 0.3 ? `${f} ${l0}`.toUpperCase() : `${f} ${l0}`;
      const s = school(e, 0.3, 0.1);
      const ref = rnd() < 0.5 ? pfr : null;
      const key = `S${out.length}`;
      out.push({ source: 'scouts', key, fullName: name, year: e.year, position: e.position, school: s, pfrId: ref, entity: n });
      lines.scouts.push([key, ref, name, e.position, s, e.year].map(csv).join(','));
    }
    if (rnd() < COVERAGE.draft) {
      const [f, l] = noisy(e, 0.06);
      const s = school(e, 0.5, 0);
      const pickNo = (picks.get(e.year) ?? 0) + 1;
      picks.set(e.year, pickNo);
      const pos = Object.entries(POSITION_ALIASES).find(([, to]) => to === e.position)?.[0] ?? e.position;
      out.push({ source: 'draft', key: `${e.year}-${pickNo}`, fullName: `${f} ${l}`, year: e.year, position: e.position, school: s, pfrId: null, entity: n });
      const line = (i: number) => [i, 1 + Math.floor(pickNo / 32), pickNo, pick(['CHI', 'NYJ', 'ARI', 'KAN', 'DAL']), `${f} ${l}`, pos, e.year, s].map(csv).join(',');
      lines.draft.push(line(lines.draft.length - 1));
      if (rnd() < 0.03) lines.draft.push(line(lines.draft.length - 1));
    }
  });
  for (const s of SOURCES) write(s, lines[s].join('\n') + '\n');
  return { records: out, names: entities.map((e) => `${e.first} ${e.last}`), entities: count };
}
