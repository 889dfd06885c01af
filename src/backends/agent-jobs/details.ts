// The `details` of an agent job: the documented fields of the service's job record.
import * as z from 'zod';
import { detailInt, detailTags, detailText } from '../../jobs/details.ts';

export const agentJobsDetailsSchema = z.strictObject({
  job_type_id: detailText.optional().describe('The agent job type.'),
  channel_code: detailText.optional().describe('The channel the job reports to.'),
  scheduled_at: detailText.optional().describe('When a scheduled job is due (ISO 8601).'),
  tasks_count: detailInt.nonnegative().optional().describe('Tasks the job has created so far.'),
  last_task_created_at: detailText.optional().describe('When its latest task was created (ISO 8601).'),
  tags: detailTags.optional(),
});

export type AgentJobsDetails = z.infer<typeof agentJobsDetailsSchema>;
