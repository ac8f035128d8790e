import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createParallelGzip, GZIP_WINDOW, sampledEntropy } from '../../../executor/layer/parallel-gzip.ts';

/** Feeds `input` to the compressor in chunks of `chunk` bytes and returns the gzip bytes. */
async function gz(input: Buffer, chunk: number, opts: { level?: number; concurrency?: number } = {}): Promise<Buffer> {
  const out: Buffer[] = [];
  const chunks = function* () {
    for (let i = 0; i < input.length; i += chunk) yield input.subarray(i, i + chunk);
  };
  await pipeline(Readable.from(chunks()), createParallelGzip(opts), async (src: AsyncIterable<Buffer>) => {
    for await (const c of src) out.push(c);
  });
  return Buffer.concat(out);
}

const text = (n: number): Buffer => {
  const line = Buffer.from('the quick brown fox jumps over the lazy dog 0123456789\n');
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i += line.length) line.copy(b, i);
  return b;
};

describe('parallel gzip', () => {
  it.each([0, 1, 4095, GZIP_WINDOW - 1, GZIP_WINDOW, GZIP_WINDOW + 1, 3 * GZIP_WINDOW + 12345])(
    'round-trips %i bytes of mixed data through zlib and the system gzip',
    async (size) => {
      const half = Math.floor(size / 2);
      const input = Buffer.concat([randomBytes(half), text(size - half)]);
      const out = await gz(input, 65536);
      expect(out.subarray(0, 3)).toEqual(Buffer.from([0x1f, 0x8b, 0x08]));
      expect(zlib.gunzipSync(out).equals(input)).toBe(true);
      // gzip(1) checks the CRC-32 and length in the trailer too.
      expect(execFileSync('gzip', ['-dc'], { input: out, maxBuffer: 64 << 20 }).equals(input)).toBe(true);
    },
  );

  it('gives the same bytes however the input is chunked and however many windows run at once', async () => {
    const input = Buffer.concat([text(GZIP_WINDOW + 777), randomBytes(GZIP_WINDOW), text(5000)]);
    const a = await gz(input, 65536);
    const b = await gz(input, 1000, { concurrency: 1 });
    const c = await gz(input, input.length, { concurrency: 5 });
    expect(b.equals(a)).toBe(true);
    expect(c.equals(a)).toBe(true);
  });

  it('stores random windows (no growth beyond framing) and compresses text', async () => {
    const rnd = randomBytes(4 * GZIP_WINDOW);
    const out = await gz(rnd, 65536);
    // Stored blocks cost 5 bytes per 64 KiB plus the sync flush per window: well under 0.1%.
    expect(out.length).toBeLessThan(rnd.length * 1.001 + 64);
    const t = text(4 * GZIP_WINDOW);
    expect((await gz(t, 65536)).length).toBeLessThan(t.length / 20);
  });

  it('mixed windows (small random files between tar headers and zero padding) shrink by their zeros, and round-trip', async () => {
    const parts: Buffer[] = [];
    for (let i = 0; i < 600; i++) {
      const r = randomBytes(2000 + ((i * 7919) % 11800));
      parts.push(Buffer.alloc(512, 0), r, Buffer.alloc((512 - (r.length % 512)) % 512, 0));
    }
    const mixed = Buffer.concat(parts);
    const zeros = parts.filter((_, i) => i % 3 !== 1).reduce((a, b) => a + b.length, 0);
    const out = await gz(mixed, 65536);
    expect(zlib.gunzipSync(out).equals(mixed)).toBe(true);
    // Most of the zeros are gone (random data itself cannot shrink).
    expect(out.length).toBeLessThan(mixed.length - zeros * 0.8);
  });

  it('honours the level for compressible data', async () => {
    const input = Buffer.concat([...Array.from({ length: 64 }, (_, i) => Buffer.from(`line ${i * 7919} ${'abcdefghij'.repeat(i % 9)}\n`))]);
    const big = Buffer.concat(Array.from({ length: 2000 }, () => input));
    const l1 = await gz(big, 65536, { level: 1 });
    const l9 = await gz(big, 65536, { level: 9 });
    expect(zlib.gunzipSync(l9).equals(big)).toBe(true);
    expect(l9.length).toBeLessThanOrEqual(l1.length);
  });

  it('estimates entropy: random near 8 bits per byte, text far below', () => {
    expect(sampledEntropy(randomBytes(1 << 20))).toBeGreaterThan(7.95);
    expect(sampledEntropy(text(1 << 20))).toBeLessThan(6);
    expect(sampledEntropy(Buffer.alloc(0))).toBe(0);
  });
});
