// Node Readable → Web ReadableStream without Readable.toWeb, whose cancel path throws
// "Controller is already closed" from a stream callback on Node 20 (an uncaught exception).
import type { Readable } from 'node:stream';

/**
 * `onCancel: 'destroy'` (upstream response bodies) drops the source; `'drain'` (a client's request
 * body the router refused) reads and discards the rest, so the client still receives the answer
 * instead of a connection reset (the socket closes after the response: `connection: close`).
 */
export function readableToWeb(source: Readable, onCancel: 'destroy' | 'drain' = 'destroy'): ReadableStream<Uint8Array> {
  const it = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const r = await it.next();
          if (r.done === true) controller.close();
          else controller.enqueue(new Uint8Array(r.value.buffer, r.value.byteOffset, r.value.byteLength));
        } catch (err) {
          controller.error(err);
        }
      },
      cancel() {
        // Destroying an undici body emits RequestAbortedError: expected here, not a crash.
        source.on('error', () => {});
        if (onCancel === 'drain') source.resume();
        else source.destroy();
      },
    },
    { highWaterMark: 0 },
  );
}
