// The fake OpenAI upstream as its own process for the gateway-overhead loadtest (prints its URL).
import { FakeOpenAiUpstream } from '../test/fakes/fake-openai-upstream.ts';

const fake = await FakeOpenAiUpstream.start();
// keep the request log from growing for the whole run
setInterval(() => fake.requests.splice(0), 1000).unref();
process.stdout.write(`${JSON.stringify({ event: 'listening', url: fake.url })}\n`);
const stop = (): void => void fake.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
