// A callback receiver for signed-webhook channels: checks the reply signature, dedupes on Idempotency-Key
// (as a well-behaved receiver must), and can drop the connection after taking a reply (an ambiguous send).
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedReply {
  idempotencyKey: string;
  body: { id: string; conversation: string; text: string; replyTo?: string };
  signatureValid: boolean;
}

export class FakeWebhookReceiver {
  url = '';
  readonly received: ReceivedReply[] = [];
  /** Distinct replies after Idempotency-Key dedupe. */
  readonly unique = new Map<string, ReceivedReply>();
  dropAfterReceive = 0;
  private server: Server | undefined;
  private readonly secret: () => string | undefined;

  constructor(secret: () => string | undefined) {
    this.secret = secret;
  }

  async listen(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const ts = String(req.headers['x-openclawmu-timestamp'] ?? '');
        const secret = this.secret() ?? '';
        const want = `v1=${createHmac('sha256', secret).update(`v1:${ts}:${raw}`).digest('hex')}`;
        const r: ReceivedReply = { idempotencyKey: String(req.headers['idempotency-key'] ?? ''), body: JSON.parse(raw) as ReceivedReply['body'], signatureValid: want === req.headers['x-openclawmu-signature'] };
        this.received.push(r);
        if (!this.unique.has(r.idempotencyKey)) this.unique.set(r.idempotencyKey, r);
        if (this.dropAfterReceive > 0) {
          this.dropAfterReceive--;
          res.socket?.destroy();
          return;
        }
        res.writeHead(r.signatureValid ? 200 : 401).end();
      });
    });
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/callback`;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
