// `from:` of a `tables` source: a destination block checked, and opened, by the destination's own spec — so a typo in
// it is reported at its key before any work, exactly as in a pipeline's `destination:`. The registry is reached at
// call time only (it imports this folder's spec, so importing it up front would be a cycle).
import type { z } from 'zod';
import type { Destination, RunContext } from '../../core/connector.js';
import { getDestinationSpec, destinationSpecs } from '../registry.js';

type Block = { type: string } & Record<string, unknown>;

export function destinationIssues(block: Block, ctx: z.RefinementCtx): void {
  const spec = getDestinationSpec(block.type);
  if (!spec) {
    const known = destinationSpecs().map((d) => d.type).sort();
    ctx.addIssue({ code: 'custom', path: ['type'], message: `unknown destination type \`${block.type}\` (known: ${known.join(', ')})` });
    return;
  }
  const { type: _, ...rest } = block;
  const parsed = spec.config.safeParse(rest);
  if (parsed.success) return;
  const valid = ['type', ...Object.keys(spec.config.shape)].join(', ');
  for (const issue of parsed.error.issues) {
    // Refinement issues reach the file as plain messages: an unknown key is told at the key, with the keys there are.
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) ctx.addIssue({ code: 'custom', path: [...issue.path, key], message: `unknown key \`${key}\` of a ${block.type} destination (valid keys here: ${valid})` });
    } else {
      ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
    }
  }
}

/** The destination a `from:` block names, connected. */
export async function openDestination(block: Block, ctx: RunContext): Promise<Destination> {
  const spec = getDestinationSpec(block.type)!;
  const { type: _, ...rest } = block;
  const destination = await spec.create({ type: block.type, ...spec.config.parse(rest) });
  await destination.connect(ctx);
  return destination;
}
