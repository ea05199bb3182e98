// Regenerates the generated docs: docs/errors.md and docs/rpc-methods.md.
import { writeFileSync } from 'node:fs';
import { renderErrorsDoc } from '../../router/errors/render-errors-doc.ts';
import { renderRpcDoc } from '../../shard/rpc/render-rpc-doc.ts';
import { rpcMethodsForDocs } from '../../shard/app/rpc-methods-for-docs.ts';

writeFileSync(new URL('../../docs/errors.md', import.meta.url), renderErrorsDoc());
writeFileSync(new URL('../../docs/rpc-methods.md', import.meta.url), renderRpcDoc(await rpcMethodsForDocs()));
console.log('wrote docs/errors.md and docs/rpc-methods.md');
