// The import rules of src/, checked by `npm run check` (and so by `npm test`): no cycles, and
// every import goes down the layers below, or stays within its own layer. A folder that is not
// in any layer fails the check until it is given its place here.

/** Lowest first. A layer may import from its own and the ones before it, never from later ones. */
const LAYERS = [
  ['errors/ids/config/log/secret-key', '^src/(errors|ids|config|log|secret-key)\\.ts$'],
  ['db', '^src/db/'],
  ['accounts', '^src/accounts/'],
  ['http', '^src/http/'],
  ['idempotency', '^src/idempotency/'],
  ['customers', '^src/customers/'],
  ['events', '^src/events/'],
  ['jobs, stripe, webhooks, mail, search', '^src/(jobs|stripe|webhooks|mail|search)/'],
  ['portal', '^src/portal/'],
  ['app', '^src/app\\.ts$'],
  ['server/worker/cli', '^src/(server|worker|cli|cli-describe|background)\\.ts$'],
];

const upward = LAYERS.slice(0, -1).map(([name, path], i) => ({
  name: `layers: ${name}`,
  comment: `${name} may not import from a layer above it (${LAYERS.slice(i + 1)
    .map(([above]) => above)
    .join(' → ')})`,
  severity: 'error',
  from: { path },
  to: { path: LAYERS.slice(i + 1).map(([, above]) => above) },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import cycle: the modules in it cannot be read, tested or loaded one at a time.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...upward,
    {
      name: 'layers: unplaced',
      comment: 'A module of src/ outside every layer: give its folder a place in LAYERS.',
      severity: 'error',
      from: { path: '^src/', pathNot: LAYERS.map(([, path]) => path) },
      to: {},
    },
    {
      name: 'not-to-tests',
      comment: 'Shipped code never imports test code (src/**/*.test.ts, test/).',
      severity: 'error',
      from: { path: '^src/', pathNot: '\\.test\\.ts$' },
      to: { path: ['\\.test\\.ts$', '^test/'] },
    },
  ],
  options: {
    // Test files import the whole app through the helpers; they sit above every layer.
    exclude: { path: ['\\.test\\.ts$', '^test/', '^node_modules/'] },
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: they tie the layers together just the same.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
