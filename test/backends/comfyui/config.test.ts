// A ComfyUI host's config as an operator writes it: `public_url`, the only URL output files' `url`
// is built from, is checked before the gateway starts.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { configProblems } from '../../helpers/config-problems.ts';

function hostConfig(host: string): string {
  return `
auth: { mode: none }
projects:
  - reference: studio
    backend: { kind: comfyui, hosts: [ { name: gpu1, url: "http://gpu1.internal:8188", ${host} } ] }
`;
}

describe('ComfyUI host public_url', () => {
  it('is taken as written, with or without a path prefix', () => {
    const cfg = parseConfig(hostConfig('public_url: "https://comfy.example.com/gpu1/"'), 'test.yaml', { env: {} });
    const backend = cfg.projects[0]!.backend;
    expect(backend.kind === 'comfyui' && backend.hosts[0]!.public_url).toBe('https://comfy.example.com/gpu1/');
  });

  it.each([
    ['ftp://comfy.example.com', 'an absolute http:// or https:// URL'],
    ['https://user:secret@comfy.example.com', 'a URL without credentials, query or fragment: callers see it'],
    ['https://comfy.example.com/?token=abc', 'a URL without credentials, query or fragment: callers see it'],
    ['https://comfy.example.com/#x', 'a URL without credentials, query or fragment: callers see it'],
  ])('refuses %s, without echoing it', (url, message) => {
    const problems = configProblems(hostConfig(`public_url: "${url}"`));
    expect(problems).toEqual([{ path: 'projects.0.backend.hosts.0.public_url', message }]);
    expect(JSON.stringify(problems)).not.toContain('secret');
  });
});
