// The `details` of a ComfyUI job: the fields of ComfyUI's own records that tell jobs apart.
import * as z from 'zod';
import { detailInt, detailText } from '../../jobs/details.ts';

export const comfyuiDetailsSchema = z.strictObject({
  number: z.number().optional().describe("ComfyUI's queue number (its priority): lower runs first."),
  workflow_id: detailText.optional().describe('The id of the saved workflow the prompt came from, when the client sent one.'),
  outputs_count: detailInt.nonnegative().optional().describe('How many output files the job wrote.'),
  execution_duration_ms: detailInt.nonnegative().optional().describe('How long the run took, from execution start to its end.'),
  cached_nodes: detailInt.nonnegative().optional().describe('How many nodes ComfyUI took from its cache instead of running them.'),
});

export type ComfyuiDetails = z.infer<typeof comfyuiDetailsSchema>;
