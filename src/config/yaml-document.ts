// A pipeline file's YAML parsed once per process. `sluice run` glances at the file before the CLI loads, to shape
// V8's heap (src/cli/heap.ts), and the loader then takes that parse rather than parsing the same text again: a
// cold YAML parser spends ~15 ms on even a small file, at the start of every run.
import { LineCounter, parseDocument, type Document } from 'yaml';

export interface ParsedYaml {
  doc: Document;
  lineCounter: LineCounter;
}

let kept: { text: string; parsed: ParsedYaml } | undefined;

/** Parse pipeline text with the options the loader's errors and merge keys rely on. */
export function parseYaml(text: string): ParsedYaml {
  const lineCounter = new LineCounter();
  return { doc: parseDocument(text, { lineCounter, merge: true, prettyErrors: true, uniqueKeys: true }), lineCounter };
}

/** Parse, and keep the result for the one later `takeParsed` of the same text. */
export function parseAndKeep(text: string): ParsedYaml {
  const parsed = parseYaml(text);
  kept = { text, parsed };
  return parsed;
}

/** The kept parse of exactly this text, once; otherwise a fresh one. */
export function takeParsed(text: string): ParsedYaml {
  const k = kept;
  kept = undefined;
  return k?.text === text ? k.parsed : parseYaml(text);
}
