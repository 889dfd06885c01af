// The layer rules of src/, checked by `npm test` (npm run lint). docs/architecture.md draws them.
// From the bottom: jobs (the domain and its ports) and state (what replicas share) import no other
// folder; backends (the adapters) build on jobs and state; mcp serves the job service as MCP tools;
// auth, http and observability sit around it; gateway.ts and main.ts wire everything. A layer that
// is observed declares the port it reports through, and observability implements it.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-cycle', comment: 'No file imports itself through others.', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'jobs-is-the-core',
      comment: 'jobs/ (the unified model, the backend port, the job service) imports no other folder of src/.',
      severity: 'error',
      from: { path: '^src/jobs/' },
      to: { path: '^src/', pathNot: '^src/jobs/' },
    },
    {
      name: 'state-stands-alone',
      comment: 'state/ (memory and Redis stores) imports no other folder of src/: it takes its settings as plain options.',
      severity: 'error',
      from: { path: '^src/state/' },
      to: { path: '^src/', pathNot: '^src/state/' },
    },
    {
      name: 'adapters-know-no-callers',
      comment:
        'backends/ imports only jobs/, state/ and simulation/ (an adapter knows nothing of MCP, HTTP clients, tokens, metrics or config files).',
      severity: 'error',
      from: { path: '^src/backends/' },
      to: { path: '^src/', pathNot: '^src/(backends|jobs|state|simulation)/' },
    },
    {
      name: 'adapters-never-load-simulations',
      comment: 'An adapter never imports a simulation; only the kind entry (kind.ts) and the registry name it.',
      severity: 'error',
      from: { path: '^src/backends/', pathNot: '(^src/backends/registry\\.ts$|^src/backends/[^/]+/kind\\.ts$|/simulation/)' },
      to: { path: '(/simulation/|^src/simulation/)' },
    },
    {
      name: 'simulation-kit-stands-alone',
      comment: 'simulation/ (the toolkit simulated backends are built with) imports no other folder of src/.',
      severity: 'error',
      from: { path: '^src/simulation/' },
      to: { path: '^src/', pathNot: '^src/simulation/' },
    },
    {
      name: 'mcp-serves-the-service',
      comment: 'mcp/ builds on jobs/, state/ and the backend registry; it never reaches auth/, http/, observability/ or config/.',
      severity: 'error',
      from: { path: '^src/mcp/' },
      to: { path: '^src/(auth|http|observability|config|sandbox)/' },
    },
    {
      name: 'auth-below-http',
      comment: 'auth/ never imports http/, observability/, backends/ or the sandbox.',
      severity: 'error',
      from: { path: '^src/auth/' },
      to: { path: '^src/(http|observability|backends|sandbox|simulation)/' },
    },
    {
      name: 'http-declares-its-ports',
      comment: 'http/ declares what it reports through; observability/ implements it.',
      severity: 'error',
      from: { path: '^src/http/' },
      to: { path: '^src/(observability|backends|sandbox|simulation|state)/' },
    },
    {
      name: 'config-is-a-contract',
      comment: 'config/ assembles the schema from the backend registry; it knows nothing of the running parts.',
      severity: 'error',
      from: { path: '^src/config/' },
      to: { path: '^src/(mcp|http|auth|observability|state|sandbox)/' },
    },
    {
      name: 'observed-layers-declare-ports',
      comment: 'Only observability/ itself, gateway.ts and main.ts import observability/.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(observability/|gateway\\.ts$|main\\.ts$)' },
      to: { path: '^src/observability/' },
    },
    {
      name: 'no-sandbox-in-production',
      comment: 'The sandbox runner (sandbox/) is reached only from main.ts (npm start without --config).',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(sandbox/|main\\.ts$)' },
      to: { path: '^src/sandbox/' },
    },
    {
      name: 'scripts-never-import-tests',
      comment: 'scripts/ (bench, schema export) stands without the test tree.',
      severity: 'error',
      from: { path: '^scripts/' },
      to: { path: '^test/' },
    },
    {
      name: 'src-never-imports-tests-or-scripts',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|scripts)/' },
    },
  ],
  options: {
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
  },
};
