#!/usr/bin/env node
// The CLI ships compiled (`npm install` runs `prepare`, which builds dist/).
import process from 'node:process';
import { main } from '../dist/src/cli/main.js';

main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
