// The `details` of a project-runtime job: the documented fields of the runtime's Job.
import * as z from 'zod';
import { detailInt, detailText } from '../../jobs/details.ts';

export const projectRuntimeDetailsSchema = z.strictObject({
  target: detailText.optional().describe('What runs, e.g. task:knowledge-ingest, workflow:…, deploy:….'),
  environment_id: detailText.optional(),
  branch_id: detailText.optional(),
  batch_id: detailText.optional().describe('The job batch it belongs to.'),
  cron_job_id: detailText.optional().describe('The cron job that started it.'),
  exit_code: detailInt.optional(),
  failed_reason: detailText.optional(),
  timeout_seconds: z.number().nonnegative().optional(),
  backoff_limit: detailInt.nonnegative().optional().describe('Retries allowed.'),
  result_state: detailText.optional().describe("The result summary's verdict: success, partial_success or failed."),
});

export type ProjectRuntimeDetails = z.infer<typeof projectRuntimeDetailsSchema>;
