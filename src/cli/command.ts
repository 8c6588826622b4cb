// Each CLI command is one file exporting a `CliCommand`; main.ts wires them into commander.
import type { Command } from 'commander';
import { exitCodeFor } from './exit-codes.js';
import { printError } from './print-error.js';

export interface CliCommand {
  /** Adds the command to the program. The action resolves to the process exit code. */
  register(program: Command, setExit: (code: number) => void): void;
}

/** An action's body: its exit code, or its error printed and turned into one. */
export const act = (setExit: (code: number) => void, body: () => Promise<number>): Promise<void> => body().then(setExit, (e: unknown) => {
  printError(e);
  setExit(exitCodeFor(e));
});
