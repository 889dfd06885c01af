// The backend registry's contract with each kind it lists, checked for every kind at once: a new
// kind is held to it as soon as it is in the registry (and in config/sandbox.yaml).
import { describe, expect, it } from 'vitest';
import {
  backendUrls,
  BACKEND_KINDS,
  createBackend,
  pollIntervalsSchema,
  sandboxService,
  SANDBOX_SERVICE_NAMES,
  withBackendUrls,
} from '../../src/backends/registry.ts';
import { loadConfigFile } from '../../src/config/load.ts';
import { createMemoryStore } from '../../src/state/memory-store.ts';

const sandbox = loadConfigFile('config/sandbox.yaml');

describe('the backend registry', () => {
  it('names each kind and each simulated service once, and every kind offers a service', () => {
    expect(new Set(BACKEND_KINDS).size).toBe(BACKEND_KINDS.length);
    expect(new Set(SANDBOX_SERVICE_NAMES).size).toBe(SANDBOX_SERVICE_NAMES.length);
    for (const name of SANDBOX_SERVICE_NAMES) expect(BACKEND_KINDS).toContain(sandboxService(name).kind);
    for (const kind of BACKEND_KINDS)
      expect(
        SANDBOX_SERVICE_NAMES.some((name) => sandboxService(name).kind === kind),
        kind,
      ).toBe(true);
    // A kind with one API simulates it under its own name; http_jobs simulates each ready-made profile's API.
    for (const kind of BACKEND_KINDS.filter((k) => k !== 'http_jobs')) expect(sandboxService(kind as never).kind).toBe(kind);
  });

  it('gives every kind a default poll interval', () => {
    const defaults = pollIntervalsSchema.parse(undefined);
    expect(Object.keys(defaults)).toEqual([...BACKEND_KINDS]);
    for (const seconds of Object.values(defaults)) expect(seconds).toBeGreaterThan(0);
  });

  it.each(sandbox.projects.map((p) => [p.backend.kind, p] as const))(
    '%s: makes the adapter of a project, labelled with its kind and name',
    async (kind, project) => {
      const backend = createBackend(project, { defaultTimeoutMs: 1000, state: createMemoryStore() });
      try {
        expect(backend.kind).toBe(kind);
        expect(backend.name).toBe(project.backend.name ?? project.reference);
      } finally {
        await backend.close?.();
      }
    },
  );

  it.each(sandbox.projects.map((p) => [p.backend.kind, p.backend] as const))(
    '%s: moves every URL backendUrls names, and nothing else',
    (_kind, backend) => {
      const move = (url: string) => url.replace('127.0.0.1', 'moved.example');
      const moved = withBackendUrls(backend, move);
      expect(backendUrls(moved)).toEqual(backendUrls(backend).map(move));
      expect(withBackendUrls(moved, (url) => url.replace('moved.example', '127.0.0.1'))).toEqual(backend);
    },
  );
});
