// The shard's features, in order (a feature may use the services of one listed before it). Adding a
// feature is one line here; buildApp, the services, the RPC methods and the lifecycle loop over it.
import { aiFeature } from '../ai/ai-feature.ts';
import { controlPlaneFeature } from '../control-plane/control-plane-feature.ts';
import { memoryFeature } from '../memory/memory-feature.ts';
import { movesFeature } from '../moves/moves-feature.ts';
import { backupsFeature } from '../snapshot/backups-feature.ts';
import type { ShardFeature } from './shard-feature.ts';

export const defaultFeatures: readonly ShardFeature[] = [controlPlaneFeature, aiFeature, memoryFeature(), backupsFeature, movesFeature];
