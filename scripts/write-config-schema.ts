// Writes config/schema.json from the zod schema (npm run config-schema). A test fails when it is stale.
import { writeFileSync } from 'node:fs';
import { configJsonSchema } from '../src/config/load.ts';

writeFileSync(new URL('../config/schema.json', import.meta.url), `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
