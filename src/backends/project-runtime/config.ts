// The config section of a project on a Veryfront-style project runtime.
import * as z from 'zod';
import { httpUrl, kindConfig } from '../config-fields.ts';

export const projectRuntimeConfigSchema = kindConfig('project_runtime', {
  base_url: httpUrl.describe('e.g. https://api.veryfront.com'),
  token: z.string().min(1).describe('Bearer token or API key of the runtime; use a secret reference.'),
  remote_project: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9._-]+$/)
    .optional()
    .describe("The runtime's own project id or slug; defaults to this project's reference."),
});

export type ProjectRuntimeBackendConfig = z.infer<typeof projectRuntimeConfigSchema>;
