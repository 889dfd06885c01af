// The `details` of an http_jobs job: the fields its profile names (fields.details), each a bounded
// string, a number, a boolean or a list of tags. Their names are the operator's, so the schema states their form only.
import * as z from 'zod';
import { detailTags, detailText } from '../../jobs/details.ts';

export const httpJobsDetailsSchema = z
  .record(z.string().regex(/^[a-z][a-z0-9_]{0,39}$/), z.union([detailText, z.number(), z.boolean(), detailTags]))
  .describe("http_jobs: the fields the backend's profile names (e.g. Replicate's model, version and predict_time).");
