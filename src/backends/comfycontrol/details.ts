// The `details` of a ComfyControl workflow: the documented fields of its workflow record.
import * as z from 'zod';
import { detailTags, detailText } from '../../jobs/details.ts';

export const comfycontrolDetailsSchema = z.strictObject({
  tags: detailTags.optional(),
  user_runner_id: detailText.optional(),
  managed_runner_id: detailText.optional(),
  prompt_id: detailText.optional().describe('The ComfyUI prompt id once the workflow is queued on a runner.'),
  queue_number: z.number().optional(),
});

export type ComfycontrolDetails = z.infer<typeof comfycontrolDetailsSchema>;
