// The config section of a ComfyUI project: its hosts and which API they speak.
import * as z from 'zod';
import { headers, httpUrl, kindConfig, name } from '../config-fields.ts';

export const comfyuiHostSchema = z.strictObject({
  name: name.describe('Host name used in results ("host") and logs.'),
  url: httpUrl.describe('Base URL of the ComfyUI server, with a path prefix if it sits behind a reverse proxy.'),
  headers: headers.optional(),
  public_url: httpUrl
    .refine((u) => {
      const url = new URL(u);
      return url.username === '' && url.password === '' && url.search === '' && url.hash === '';
    }, 'a URL without credentials, query or fragment: callers see it')
    .optional()
    .describe(
      "The host's base URL as callers can reach it. Set, each output file gets a `url` (<public_url>/view?filename=…&subfolder=…&type=…); unset, none, since `url` is often internal. Give `url` again here when callers can reach it.",
    ),
});

export const comfyuiConfigSchema = kindConfig('comfyui', {
  hosts: z.array(comfyuiHostSchema).min(1),
  api: z
    .enum(['auto', 'jobs', 'legacy'])
    .default('auto')
    .describe('"auto" probes each host once for the jobs API (/api/jobs) and falls back to /queue, /history and /interrupt.'),
});

export type ComfyuiBackendConfig = z.infer<typeof comfyuiConfigSchema>;
