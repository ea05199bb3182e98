// Regenerates router/placement/placement-vectors.json from the implementation (only when the algorithm changes).
import { writeFileSync } from 'node:fs';
import { initPlacement } from '../../router/placement/rendezvous.ts';
import { computePlacementVectors } from '../../router/placement/placement-vectors.ts';

const p = await initPlacement();
const out = new URL('../../router/placement/placement-vectors.json', import.meta.url);
writeFileSync(out, `${JSON.stringify(computePlacementVectors(p), null, 2)}\n`);
console.log(`wrote ${out.pathname}`);
