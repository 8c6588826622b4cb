#!/usr/bin/env node
// The CLI ships compiled and bundled (`npm install` runs `prepare`, which builds dist/; scripts/bundle.js says why).
import process from 'node:process';
import { tuneHeap } from '../dist/bundle/cli/heap.js';

// Before the CLI is loaded: V8's heap settings take effect from its first collection (src/cli/heap.ts).
tuneHeap(process.argv.slice(2));
const { main } = await import('../dist/bundle/cli/main.js');

main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
