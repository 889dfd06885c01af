// The config section of a ComfyUI project: its hosts and which API they speak.
import * as z from 'zod';
import { headers, httpUrl, kindConfig, name } from '../config-fields.ts';

export const comfyuiHostSchema = z.strictObject({
  name: name.describe('Host name used in results ("host") and logs.'),
  url: httpUrl.describe('Base URL of the ComfyUI server, with a path prefix if it sits behind a reverse proxy.'),
  headers: headers.optional(),
});

export const comfyuiConfigSchema = kindConfig('comfyui', {
  hosts: z.array(comfyuiHostSchema).min(1),
  api: z
    .enum(['auto', 'jobs', 'legacy'])
    .default('auto')
    .describe('"auto" probes each host once for the jobs API (/api/jobs) and falls back to /queue, /history and /interrupt.'),
});

export type ComfyuiBackendConfig = z.infer<typeof comfyuiConfigSchema>;
