// The config section of an `http_jobs` project: the API's base URL and the gateway's credentials for
// it (headers, query parameters; values may be secret references), and its profile: a ready-made one
// by name (profiles.ts), and/or the profile's parts written out (profile.ts). A part written here
// replaces the ready-made profile's part of that name whole.
import * as z from 'zod';
import { headers, httpUrl, kindConfig } from '../config-fields.ts';
import { jobNoun, profileSchema } from './profile.ts';
import { PROFILE_NAMES } from './profiles.ts';

export const httpJobsConfigSchema = kindConfig('http_jobs', {
  profile: z.enum(PROFILE_NAMES).optional().describe('A ready-made profile of a public job API (docs/add-your-job-api.md).'),
  base_url: httpUrl.describe('The API below which every request of the profile is made, e.g. https://api.replicate.com/v1'),
  headers: headers
    .optional()
    .describe('Sent on every call: the gateway\'s credentials for this API (e.g. Authorization: "Bearer ${env:TOKEN}").'),
  query: z
    .record(z.string().min(1).max(64), z.string())
    .optional()
    .describe('Query parameters sent on every call, for APIs that take a credential there. Values may be secret references.'),
  job_noun: jobNoun.optional(),
  job_id: profileSchema.shape.job_id,
  status: profileSchema.shape.status.optional(),
  cancel: profileSchema.shape.cancel.optional(),
  list: profileSchema.shape.list,
  rate_limit: profileSchema.shape.rate_limit,
});

export type HttpJobsBackendConfig = z.infer<typeof httpJobsConfigSchema>;
