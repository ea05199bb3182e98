// Writes docs/errors.md from the error table (router/errors/codes.ts).
import { writeFileSync } from 'node:fs';
import { renderErrorsDoc } from '../../router/errors/render-errors-doc.ts';

writeFileSync(new URL('../../docs/errors.md', import.meta.url), renderErrorsDoc());
console.log('wrote docs/errors.md');
