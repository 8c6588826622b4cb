#!/usr/bin/env node
// The CLI ships compiled (`npm install` runs `prepare`, which builds dist/).
import process from 'node:process';
import { tuneHeap } from '../dist/src/cli/heap.js';

// Before the CLI is loaded: V8's heap settings take effect from its first collection (src/cli/heap.ts).
tuneHeap(process.argv.slice(2));
const { main } = await import('../dist/src/cli/main.js');

main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
