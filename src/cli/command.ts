// Each CLI command is one file exporting a `CliCommand`; main.ts wires them into commander.
import type { Command } from 'commander';

export interface CliCommand {
  /** Adds the command to the program. The action resolves to the process exit code. */
  register(program: Command, setExit: (code: number) => void): void;
}
