#!/usr/bin/env node
// The CLI ships compiled (`npm install` runs `prepare`, which builds dist/).
import process from 'node:process';
import { setFlagsFromString } from 'node:v8';
// Set before anything is loaded, so that V8's first old-generation limit already follows it: a run that only moves
// batches holds nothing from one to the next, and what reaches the old generation is batches already loaded. Collecting
// it once the generation has grown by a quarter, not V8's default of up to 4×, lowers a database copy's peak by about
// 10 MB at a cost too small to measure. `sluice run` returns to the default for pipelines with transforms or checks.
setFlagsFromString('--heap-growing-percent=25');
// Imported after the flag (a static import would be evaluated first).
const { main } = await import('../dist/src/cli/main.js');

main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
