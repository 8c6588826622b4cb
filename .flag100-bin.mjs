#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';
setFlagsFromString('--heap-growing-percent=100');
import { main } from './dist/src/cli/main.js';
main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
