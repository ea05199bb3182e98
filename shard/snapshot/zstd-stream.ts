// zstd outside tar (node-tar's own zstd detection crashes Node 20): a compressor and a capped decompressor.
import { createRequire } from 'node:module';
import { CompressStream } from 'zstd-napi';
import type * as ZstdBinding from 'zstd-napi/binding.js';
import { AppError } from '../../router/index.ts';

// The low-level binding gives us output in fixed pieces, so the cap is checked before more is produced.
const binding = createRequire(import.meta.url)('zstd-napi/binding.js') as typeof ZstdBinding;

export const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);

export function createZstdCompressStream(level = 3): CompressStream {
  return new CompressStream({ compressionLevel: level });
}

export interface DecompressCaps {
  /** Abort once more than this many bytes have come out. */
  readonly maxOutputBytes: number;
  /** Largest back-reference window the decoder accepts (log2 bytes); bounds decoder memory. */
  readonly windowLogMax?: number;
}

/**
 * An async-generator stage for stream.pipeline: zstd in, plain bytes out, never more than the cap.
 * Being a generator, it produces the next piece only when the consumer asks (backpressure), so a
 * bomb cannot fill memory inside one input chunk. Refuses input that does not start with the zstd
 * magic (a plain tar.gz, a bare tar) and output that is itself compressed (nested gzip/zstd).
 */
export function zstdDecompressCapped(caps: DecompressCaps): (source: AsyncIterable<Buffer>) => AsyncGenerator<Buffer> {
  return async function* decompress(source) {
    const dctx = new binding.DCtx();
    dctx.setParameter(binding.DParameter.windowLogMax, caps.windowLogMax ?? 27);
    const pieceSize = binding.dStreamOutSize();
    let head: Buffer | null = Buffer.alloc(0);
    let total = 0;
    let inFrame = false;
    let firstOut = true;
    for await (const chunk of source) {
      let src: Buffer = Buffer.from(chunk);
      if (head !== null) {
        head = Buffer.concat([head, src]);
        if (head.length < ZSTD_MAGIC.length) continue;
        if (!head.subarray(0, ZSTD_MAGIC.length).equals(ZSTD_MAGIC)) {
          throw new AppError('SNAPSHOT_FORMAT_UNSUPPORTED', { message: 'The archive is not a zstd stream.', details: { reason: 'not zstd' } });
        }
        src = head;
        head = null;
      }
      for (;;) {
        const dst = Buffer.allocUnsafe(pieceSize);
        let ret: number;
        let produced: number;
        let consumed: number;
        try {
          [ret, produced, consumed] = dctx.decompressStream(dst, src);
        } catch (cause) {
          throw new AppError('SNAPSHOT_CORRUPT', { message: 'The zstd stream is corrupt.', details: { reason: 'zstd' }, cause });
        }
        src = src.subarray(consumed);
        if (produced > 0) {
          total += produced;
          if (total > caps.maxOutputBytes) {
            throw new AppError('SNAPSHOT_TOO_LARGE', { details: { reason: 'decompressed size over the cap', maxOutputBytes: caps.maxOutputBytes } });
          }
          const out = dst.subarray(0, produced);
          if (firstOut) {
            firstOut = false;
            if (out.subarray(0, 2).equals(GZIP_MAGIC) || out.subarray(0, 4).equals(ZSTD_MAGIC)) {
              throw new AppError('SNAPSHOT_ARCHIVE_REJECTED', { details: { reason: 'nested compression inside the zstd stream' } });
            }
          }
          yield out;
        }
        if (src.length === 0 && (produced < dst.length || ret === 0)) {
          inFrame = ret !== 0;
          break;
        }
      }
    }
    if (head !== null) throw new AppError('SNAPSHOT_CORRUPT', { message: 'The archive is empty or truncated.', details: { reason: 'truncated' } });
    if (inFrame) throw new AppError('SNAPSHOT_CORRUPT', { message: 'The zstd stream ends inside a frame.', details: { reason: 'truncated' } });
  };
}
