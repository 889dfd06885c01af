// The config section of a ComfyControl project, with the request budget its per-IP limit needs.
import * as z from 'zod';
import { httpUrl, kindConfig } from '../config-fields.ts';

export const comfycontrolConfigSchema = kindConfig('comfycontrol', {
  base_url: httpUrl.describe('e.g. https://api.comfycontrol.app'),
  token: z.string().min(1).describe('ComfyControl cfc_ token; use a secret reference.'),
  rate_limit: z
    .strictObject({
      requests: z.number().int().min(1).max(10_000).default(40),
      per_seconds: z.number().min(1).max(3600).default(10),
    })
    .default({ requests: 40, per_seconds: 10 })
    .describe(
      "ComfyControl's per-IP limit (40 requests / 10 s): the gateway never sends more than `requests` in any `per_seconds` (one budget for every replica with state.store: redis) and waits out a 429's cooldown.",
    ),
});

export type ComfycontrolBackendConfig = z.infer<typeof comfycontrolConfigSchema>;
