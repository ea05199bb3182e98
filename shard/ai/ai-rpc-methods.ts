// Every JSON-RPC method of the AI surface (registered in shard/rpc/methods/index.ts).
import type { RpcMethod } from '../rpc/rpc-method.ts';
import { agentMethods } from './agents/agent-methods.ts';
import { chatMethods } from './sessions/chat-methods.ts';
import { usageMethods } from './usage/usage-methods.ts';

export const aiRpcMethods: RpcMethod[] = [...agentMethods, ...chatMethods, ...usageMethods];
