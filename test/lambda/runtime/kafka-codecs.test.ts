import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  CODECS,
  CompressedBatchError,
  decompressLz4,
  decompressSnappy,
  decompressZstd,
} from '../../../lambda/runtime/kafka-codecs';
import { CompressionTypes } from '../../../lambda/runtime/kafkajs';

// kafkajs's own lookup, which its record-batch decoder calls with a batch's attributes (their low three bits).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { lookupCodecByAttributes } = require('kafkajs/src/protocol/message/compression') as {
  lookupCodecByAttributes(attributes: number): unknown;
};

interface Fixture {
  readonly bytes: number;
  readonly sha256: string;
  readonly compressed: string;
}

/** Payloads compressed by Kafka 4.4.0's own client code (test/fixtures/compression/GenerateFixtures.java). */
const FIXTURES = JSON.parse(
  readFileSync(join(__dirname, '..', '..', 'fixtures', 'compression', 'kafka-4.4.0.json'), 'utf8'),
) as Record<'gzip' | 'snappy' | 'lz4' | 'zstd', Record<'tutorial' | 'random' | 'runs', Fixture>>;

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

const DECOMPRESS = {
  // gzip is kafkajs's own codec (zlib); it stands here as the check that the fixtures decode as Kafka wrote them.
  gzip: (data: Buffer) => gunzipSync(data),
  snappy: decompressSnappy,
  lz4: decompressLz4,
  zstd: decompressZstd,
} as const;

describe('kafka-codecs, on record batches compressed by Kafka 4.4.0', () => {
  for (const codec of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
    for (const payload of ['tutorial', 'random', 'runs'] as const) {
      it(`GIVEN Kafka's ${codec} of the ${payload} payload WHEN decompressed THEN every byte comes back`, () => {
        const fixture = FIXTURES[codec][payload];
        const out = DECOMPRESS[codec](Buffer.from(fixture.compressed, 'base64'));
        expect(Buffer.isBuffer(out)).toBe(true);
        expect(out.length).toBe(fixture.bytes);
        expect(sha256(out)).toBe(fixture.sha256);
      });
    }
  }

  it("GIVEN the tutorial payload THEN it is the tutorial's send times, one a line", () => {
    const text = decompressLz4(Buffer.from(FIXTURES.lz4.tutorial.compressed, 'base64')).toString('utf8');
    expect(text.split('\n').slice(0, 2)).toEqual(['2026-12-01T11:00:00Z', '2026-12-01T11:00:00.997Z']);
  });
});

describe('kafka-codecs: frames that are not the usual ones', () => {
  it('GIVEN a raw snappy block, as librdkafka writes it WHEN decompressed THEN it is read without the Java framing', () => {
    // Snappy's raw format: the uncompressed length as a varint (5), then one literal tag of 5 bytes (4 << 2).
    expect(decompressSnappy(Buffer.from([5, 4 << 2, ...Buffer.from('hello')])).toString()).toBe('hello');
  });

  it('GIVEN an LZ4 frame with a content size, block and content checksums, and a skippable frame THEN the data is read', () => {
    // GIVEN a skippable frame of 3 bytes, then a frame whose flags set block checksums, content size and content
    // checksum, with one stored block and one compressed block that repeats it (an overlapping match)
    const stored = Buffer.from('abc');
    const compressedBlock = Buffer.from([0x0f, 3, 0, 5]); // no literals, offset 3, match length 15 + 5 + 4 = 24
    const frame = Buffer.concat([
      u32(0x184d2a53),
      u32(3),
      Buffer.from([1, 2, 3]),
      u32(0x184d2204),
      Buffer.from([0x40 | 0x10 | 0x08 | 0x04, 0x40]),
      Buffer.alloc(8), // content size (not needed to read)
      Buffer.from([0]), // header checksum (not verified)
      u32(0x80000000 | stored.length),
      stored,
      u32(0), // block checksum
      u32(compressedBlock.length),
      compressedBlock,
      u32(0), // block checksum
      u32(0), // EndMark
      u32(0), // content checksum
    ]);
    // WHEN decompressed THEN the stored block and its 24-byte repetition come back
    expect(decompressLz4(frame).toString()).toBe('abc'.repeat(9));
  });

  it('GIVEN output larger than the first guess THEN the buffer grows and keeps what was written', () => {
    // A run of 1 MiB from one literal: 64 bytes of input, far past four times their size.
    const length = 1024 * 1024;
    const extra = length - 4 - 15;
    const lengthBytes = [...Array<number>(Math.floor(extra / 255)).fill(255), extra % 255];
    const block = Buffer.from([0x1f, 0x78, 1, 0, ...lengthBytes, 0x10, 0x79]);
    const frame = Buffer.concat([
      u32(0x184d2204),
      Buffer.from([0x60, 0x40, 0]),
      u32(block.length),
      block,
      u32(0),
    ]);
    const out = decompressLz4(frame);
    expect(out.length).toBe(1 + length + 1);
    expect(out.subarray(0, length + 1).every((b) => b === 0x78)).toBe(true);
    expect(out[length + 1]).toBe(0x79);
  });
});

describe('kafka-codecs: damaged batches', () => {
  const lz4 = Buffer.from(FIXTURES.lz4.tutorial.compressed, 'base64');
  const snappy = Buffer.from(FIXTURES.snappy.tutorial.compressed, 'base64');

  it.each([
    ['cut short', lz4.subarray(0, lz4.length - 100), /LZ4 record batch cannot be decompressed: .*runs past/],
    ['not a frame', Buffer.from('plain text, not LZ4'), /LZ4 record batch .*not an LZ4 frame's magic number/],
    [
      'a match before the start',
      Buffer.concat([
        u32(0x184d2204),
        Buffer.from([0x60, 0x40, 0]),
        u32(3),
        Buffer.from([0x00, 9, 0]),
        u32(0),
      ]),
      /a match reaches 9 bytes back, but 0 bytes are decompressed so far/,
    ],
  ])('GIVEN an LZ4 batch %s THEN the error names the codec and the fault', (_, data, expected) => {
    const error = captured(() => decompressLz4(data));
    expect(error).toBeInstanceOf(CompressedBatchError);
    expect(error.message).toMatch(expected);
  });

  it('GIVEN a snappy batch cut short THEN the error names the codec and the block', () => {
    const error = captured(() => decompressSnappy(snappy.subarray(0, snappy.length - 100)));
    expect(error).toBeInstanceOf(CompressedBatchError);
    expect(error.message).toMatch(
      /Snappy record batch cannot be decompressed: a block of \d+ bytes .* runs past/,
    );
  });

  it('GIVEN a zstd batch cut short THEN the error names the codec', () => {
    const zstd = Buffer.from(FIXTURES.zstd.tutorial.compressed, 'base64');
    const error = captured(() => decompressZstd(zstd.subarray(0, 100)));
    expect(error).toBeInstanceOf(CompressedBatchError);
    expect(error.message).toMatch(/^zstd record batch cannot be decompressed: /);
    expect(error.cause).toBeInstanceOf(Error);
  });
});

describe("kafka-codecs in kafkajs's registry", () => {
  it("GIVEN the project's kafkajs module WHEN kafkajs looks up a batch's codec THEN snappy, LZ4 and zstd are these, gzip its own", () => {
    expect(lookupCodecByAttributes(CompressionTypes.Snappy)).toBe(CODECS.Snappy());
    expect(lookupCodecByAttributes(CompressionTypes.LZ4)).toBe(CODECS.LZ4());
    // Attributes carry more than the codec (bit 3 is the timestamp type): only the low three bits choose it.
    expect(lookupCodecByAttributes(0x08 | CompressionTypes.ZSTD)).toBe(CODECS.ZSTD());
    const gzip = lookupCodecByAttributes(CompressionTypes.GZIP);
    expect(gzip).toHaveProperty('decompress');
    expect(Object.values(CODECS).map((codec) => codec())).not.toContain(gzip);
  });

  it('GIVEN a codec asked to decompress THEN it resolves the bytes; a damaged batch rejects', async () => {
    const fixture = FIXTURES.zstd.runs;
    const out = await CODECS.ZSTD().decompress(Buffer.from(fixture.compressed, 'base64'));
    expect(sha256(out)).toBe(fixture.sha256);
    await expect(CODECS.LZ4().decompress(Buffer.from('nope'))).rejects.toBeInstanceOf(CompressedBatchError);
  });

  it('GIVEN a producer asking for one of them THEN the error says what to send instead', async () => {
    await expect(CODECS.Snappy().compress({ buffer: Buffer.from('x') })).rejects.toThrow(
      /reads snappy record batches but does not write them: send with CompressionTypes.None or GZIP/,
    );
  });
});

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0);
  return b;
}

function captured(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}
