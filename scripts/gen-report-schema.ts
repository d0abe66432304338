/**
 * Write docs/report.schema.json from the zod schema of kvcpu/report/1 (src/app/report-schema.ts).
 * `npm run gen:schema`; test/report-schema.test.ts fails when the file is stale.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { reportJsonSchemaText } from '../src/app/report-schema.ts';

const out = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../docs/report.schema.json');
writeFileSync(out, reportJsonSchemaText());
console.log(`wrote ${out}`);
