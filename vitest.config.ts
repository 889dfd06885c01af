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

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Every SDK client's job-tool result is checked against the tool's outputSchema.
    setupFiles: ['test/helpers/check-tool-results.setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    reporters: ['default', plainSummary],
  },
});
