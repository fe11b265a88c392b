/**
 * The record-batch compressions kafkajs lacks: snappy, LZ4 and zstd (it reads gzip itself). A producer may compress
 * with any of them, and a topic's `compression.type` makes the broker recompress whatever it is sent
 * (https://kafka.apache.org/documentation/#topicconfigs_compression.type); without these codecs kafkajs's consumer
 * stops at the first such batch with "LZ4 compression not implemented", and so did the local runner and the redrive
 * function. The event source mapping reads them all, so the local runner must too.
 *
 * Decompression only: this project's producers send uncompressed batches, and a producer asking kafkajs for one of
 * these codecs gets an error that says so.
 */
import { decompress as zstdDecompress } from 'fzstd';
import { uncompress as snappyUncompress } from 'snappyjs';

/** A compressed record batch that cannot be read: the message names the codec and what is wrong with the bytes. */
export class CompressedBatchError extends Error {
  override readonly name = 'CompressedBatchError';
}

/** A view of `bytes` as a Buffer, without copying: kafkajs decodes the records with Buffer's methods. */
const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** The header of Java's snappy-java `SnappyOutputStream`, which Kafka's Java producer writes: magic, version, compatible version. */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = XERIAL_MAGIC.length + 8;

/**
 * Snappy as Kafka producers write it: Java's in snappy-java's stream framing (the header, then blocks, each a 4-byte
 * big-endian length and a raw snappy block), librdkafka's as one raw snappy block.
 * https://github.com/xerial/snappy-java#compatibility-notes
 */
export function decompressSnappy(data: Buffer): Buffer {
  try {
    if (data.length < XERIAL_HEADER_BYTES || !data.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) {
      return asBuffer(snappyUncompress(data));
    }
    const blocks: Buffer[] = [];
    let at = XERIAL_HEADER_BYTES;
    while (at < data.length) {
      if (at + 4 > data.length)
        throw new Error(`a block's length is cut off at byte ${at} of ${data.length}`);
      const length = data.readUInt32BE(at);
      at += 4;
      if (at + length > data.length)
        throw new Error(`a block of ${length} bytes at byte ${at} runs past the end (${data.length} bytes)`);
      blocks.push(asBuffer(snappyUncompress(data.subarray(at, at + length))));
      at += length;
    }
    return blocks.length === 1 ? blocks[0]! : Buffer.concat(blocks);
  } catch (error) {
    throw new CompressedBatchError(`Snappy record batch cannot be decompressed: ${message(error)}`, {
      cause: error,
    });
  }
}

const LZ4_FRAME_MAGIC = 0x184d2204;
/** Skippable frames (magic 0x184D2A50 to 0x184D2A5F) carry no data; a reader skips them. */
const isLz4SkippableMagic = (magic: number) => (magic & 0xfffffff0) >>> 0 === 0x184d2a50;

/**
 * LZ4 as Kafka writes it since message format v1: the LZ4 frame format, usually with 64 KiB independent blocks and
 * no checksums (Kafka's `Lz4BlockOutputStream`), though any frame the format allows is read. Checksums are skipped,
 * not verified: the record batch's CRC covers these bytes.
 * https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md
 */
export function decompressLz4(data: Buffer): Buffer {
  try {
    const out = new GrowableBuffer(Math.max(64 * 1024, data.length * 4));
    let at = 0;
    while (at < data.length) {
      need(data, at, 4, 'the frame magic');
      const magic = data.readUInt32LE(at);
      at += 4;
      if (isLz4SkippableMagic(magic)) {
        need(data, at, 4, "a skippable frame's size");
        at += 4 + data.readUInt32LE(at);
        continue;
      }
      if (magic !== LZ4_FRAME_MAGIC)
        throw new Error(`byte ${at - 4} holds 0x${magic.toString(16)}, not an LZ4 frame's magic number`);
      need(data, at, 2, 'the frame descriptor');
      const flags = data[at]!;
      if (flags >> 6 !== 1) throw new Error(`the frame's version is ${flags >> 6}: only version 1 exists`);
      if (flags & 0x01) throw new Error('the frame needs a dictionary, which Kafka never uses');
      const blockChecksum = (flags & 0x10) !== 0;
      const contentSize = (flags & 0x08) !== 0;
      const contentChecksum = (flags & 0x04) !== 0;
      // FLG, BD, the content size if given, then the header checksum.
      at += 2 + (contentSize ? 8 : 0) + 1;
      for (;;) {
        need(data, at, 4, "a block's size");
        const word = data.readUInt32LE(at);
        at += 4;
        if (word === 0) break; // EndMark
        const size = word & 0x7fffffff;
        need(data, at, size, `a block of ${size} bytes`);
        if (word & 0x80000000) out.append(data, at, at + size);
        else decompressLz4Block(data, at, at + size, out);
        at += size + (blockChecksum ? 4 : 0);
      }
      at += contentChecksum ? 4 : 0;
    }
    if (at > data.length) throw new Error(`the frame's checksum is cut off (${data.length} bytes)`);
    return out.result();
  } catch (error) {
    throw new CompressedBatchError(`LZ4 record batch cannot be decompressed: ${message(error)}`, {
      cause: error,
    });
  }
}

/**
 * One LZ4 block: sequences of literals and a match, a match copying from up to 64 KiB back in the output (earlier
 * blocks included, for frames whose blocks are linked).
 * https://github.com/lz4/lz4/blob/dev/doc/lz4_Block_format.md
 */
function decompressLz4Block(data: Buffer, start: number, end: number, out: GrowableBuffer): void {
  let at = start;
  while (at < end) {
    const token = data[at++]!;
    let literals = token >> 4;
    if (literals === 15) {
      let byte: number;
      do {
        if (at >= end) throw new Error(`a literal length runs past its block at byte ${at}`);
        byte = data[at++]!;
        literals += byte;
      } while (byte === 255);
    }
    if (at + literals > end)
      throw new Error(`${literals} literals at byte ${at} run past their block (byte ${end})`);
    out.append(data, at, at + literals);
    at += literals;
    if (at === end) return; // The last sequence has literals only.
    if (at + 2 > end) throw new Error(`a match offset is cut off at byte ${at}`);
    const offset = data[at]! | (data[at + 1]! << 8);
    at += 2;
    let length = (token & 15) + 4;
    if ((token & 15) === 15) {
      let byte: number;
      do {
        if (at >= end) throw new Error(`a match length runs past its block at byte ${at}`);
        byte = data[at++]!;
        length += byte;
      } while (byte === 255);
    }
    out.copyWithin(offset, length);
  }
}

/** Zstandard frames, as Kafka's zstd-jni stream writes them. https://www.rfc-editor.org/rfc/rfc8878 */
export function decompressZstd(data: Buffer): Buffer {
  try {
    return asBuffer(zstdDecompress(data));
  } catch (error) {
    throw new CompressedBatchError(`zstd record batch cannot be decompressed: ${message(error)}`, {
      cause: error,
    });
  }
}

function need(data: Buffer, at: number, bytes: number, what: string): void {
  if (at + bytes > data.length)
    throw new Error(`${what} at byte ${at} runs past the end of the data (${data.length} bytes)`);
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** An output buffer that doubles when full: LZ4 frames do not have to state their decompressed size. */
class GrowableBuffer {
  private bytes: Buffer;
  private length = 0;

  constructor(initial: number) {
    this.bytes = Buffer.allocUnsafe(initial);
  }

  private reserve(more: number): void {
    if (this.length + more <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + more) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.bytes.copy(grown, 0, 0, this.length);
    this.bytes = grown;
  }

  append(source: Buffer, start: number, end: number): void {
    this.reserve(end - start);
    source.copy(this.bytes, this.length, start, end);
    this.length += end - start;
  }

  /** Copies `length` bytes from `offset` back; the copy may overlap what it writes (a run repeats itself). */
  copyWithin(offset: number, length: number): void {
    if (offset === 0 || offset > this.length)
      throw new Error(
        `a match reaches ${offset} bytes back, but ${this.length} bytes are decompressed so far`,
      );
    this.reserve(length);
    const bytes = this.bytes;
    let from = this.length - offset;
    let to = this.length;
    if (offset >= length) {
      bytes.copy(bytes, to, from, from + length);
    } else {
      for (const end = to + length; to < end;) bytes[to++] = bytes[from++]!;
    }
    this.length += length;
  }

  result(): Buffer {
    return this.bytes.subarray(0, this.length);
  }
}

/**
 * kafkajs's codec interface (`CompressionCodecs[type] = () => codec`): `decompress` gets the compressed records, and
 * returns them decompressed; `compress` is for producers.
 */
export interface KafkaCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(data: Buffer): Promise<Buffer>;
}

const decompressOnly = (name: string, decompress: (data: Buffer) => Buffer): (() => KafkaCodec) => {
  const codec: KafkaCodec = {
    compress: () =>
      Promise.reject(
        new Error(
          `This project's kafkajs reads ${name} record batches but does not write them: send with CompressionTypes.None or GZIP.`,
        ),
      ),
    decompress: (data) => {
      try {
        return Promise.resolve(decompress(data));
      } catch (error) {
        return Promise.reject(error as Error);
      }
    },
  };
  return () => codec;
};

/** The codecs kafkajs.ts registers with kafkajs, by the name of their `CompressionTypes` member. */
export const CODECS = {
  Snappy: decompressOnly('snappy', decompressSnappy),
  LZ4: decompressOnly('LZ4', decompressLz4),
  ZSTD: decompressOnly('zstd', decompressZstd),
} as const;
