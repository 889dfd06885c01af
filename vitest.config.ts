import { defineConfig } from 'vitest/config';
import type { Reporter } from 'vitest/node';

// Ends the run with a plain "Tests: N passed, N failed" line, the closing line CI reads, after
// vitest's own summary. Files that failed to load count as failures.
const plainSummary: Reporter = {
  onTestRunEnd(modules, unhandledErrors) {
    let passed = 0;
    let failed = unhandledErrors.length;
    let skipped = 0;
    for (const m of modules) {
      let failedHere = 0;
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failedHere++;
        else skipped++;
      }
      // A file that failed to load, or whose setup hook failed (its tests are then skipped), is a failure too.
      failed += m.state() === 'failed' && failedHere === 0 ? 1 : failedHere;
    }
    process.stdout.write(`\nTests: ${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}\n`);
  },
};

// Three tiers, one run (npm test runs all): `unit` needs nothing built, downloaded or spawned beyond
// this process's own servers; `e2e` starts the gateway or other processes through real clients;
// `external` needs tools that are not npm packages, or the network's registries (Helm, Jaeger,
// Prometheus, Redis, the Python SDK, the Inspector, npm pack and install).
const EXTERNAL = [
  'test/helm/**/*.test.ts',
  'test/e2e/python-*.test.ts',
  'test/e2e/shared-state.test.ts',
  'test/e2e/redis-sentinel.test.ts',
  'test/e2e/tracing.test.ts',
  'test/observability/prometheus.test.ts',
  'test/readme.test.ts',
  'test/package.test.ts',
  'test/sandbox/issuer.test.ts',
];
const E2E = ['test/e2e/**/*.test.ts', 'test/conformance/**/*.test.ts', 'test/main.test.ts', 'test/sandbox/main.test.ts'];

export default defineConfig({
  test: {
    projects: [
      // Unit files share one module graph per worker (isolate: false): loading both SDK clients and
      // the server for every file cost a third of the tier's time. The code has no module-level state
      // to leak between files (dependencies are passed in), and a test that changes a global restores it.
      // Its tools folder is a path no tool can be installed under or found in, so a unit test that
      // reaches for Helm, Jaeger, the Python SDK or Node's installer fails at once.
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: [...E2E, ...EXTERNAL],
          isolate: false,
          env: { MCP_JOB_GATEWAY_TOOLS: '/dev/null/the-unit-tier-installs-no-tools' },
        },
      },
      { extends: true, test: { name: 'e2e', include: E2E, exclude: EXTERNAL } },
      { extends: true, test: { name: 'external', include: EXTERNAL } },
    ],
    // Every SDK client's job-tool result is checked against the tool's outputSchema.
    setupFiles: ['test/helpers/check-tool-results.setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    reporters: ['default', plainSummary],
  },
});
