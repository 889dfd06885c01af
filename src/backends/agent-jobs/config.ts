// The config section of an AI Connect agent-jobs project.
import * as z from 'zod';
import { httpUrl, kindConfig } from '../config-fields.ts';

export const agentJobsConfigSchema = kindConfig('agent_jobs', {
  base_url: httpUrl.describe('e.g. https://api.aiconnect.cloud/api/v0'),
  api_key: z.string().min(1).describe('AI Connect API key; use a secret reference.'),
  org_id: z.string().min(1).max(128).optional().describe('Sent as ?org_id= when set.'),
});

export type AgentJobsBackendConfig = z.infer<typeof agentJobsConfigSchema>;
