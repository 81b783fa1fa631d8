import { promisify } from 'node:util';
import zlib from 'node:zlib';

export interface TarEntry {
  /** Path inside the package, POSIX, without `package/`. */
  path: string;
  mode: number;
  data: Buffer;
}

/** npm's and pnpm's fixed timestamp for every entry (the date of "Back to the Future"). */
export const TARBALL_MTIME = new Date('1985-10-26T08:15:00.000Z');

/**
 * Every gzip member starts with these ten bytes: magic, deflate, no flags, MTIME 0 (no timestamp),
 * XFL 0 and OS 3 (Unix, what npm and pnpm write on Linux and macOS). Node's own gzip writes the OS
 * byte of the platform it runs on, and Windows differs, so the header is written here, not by zlib.
 */
export const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03]);

/** zlib's default level, the one `pnpm pack` uses: changing it changes every tarball's bytes. */
export const GZIP_LEVEL = 6;

const deflateRaw = promisify(zlib.deflateRaw);

/**
 * A reproducible npm tarball: `package/<path>` file entries only (no folders) in code-unit order of
 * their path, mtime 1985-10-26T08:15:00Z, uid/gid 0, empty uname/gname, the given mode; gzip with a
 * fixed header. The same entries give the same bytes, whatever order they come in.
 */
export async function buildTarball(entries: readonly TarEntry[]): Promise<Buffer> {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  // Loaded on first use: a warm run never builds a tarball and should not pay for loading tar-stream.
  const { default: tar } = await import('tar-stream');
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of pack as AsyncIterable<Buffer>) chunks.push(chunk);
  })();
  for (const entry of sorted) {
    await new Promise<void>((resolve, reject) => {
      pack.entry(
        {
          name: `package/${entry.path}`,
          size: entry.data.length,
          mode: entry.mode,
          mtime: TARBALL_MTIME,
          uid: 0,
          gid: 0,
          uname: '',
          gname: '',
          type: 'file',
        },
        entry.data,
        (err) => (err ? reject(err) : resolve()),
      );
    });
  }
  pack.finalize();
  await collected;
  return gzipFixed(Buffer.concat(chunks));
}

/** gzip with GZIP_HEADER, raw deflate at GZIP_LEVEL, then CRC32 and size (RFC 1952). */
export async function gzipFixed(data: Buffer): Promise<Buffer> {
  const body = await deflateRaw(data, { level: GZIP_LEVEL, memLevel: 8, windowBits: 15, strategy: zlib.constants.Z_DEFAULT_STRATEGY });
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(zlib.crc32(data), 0);
  trailer.writeUInt32LE(data.length % 0x1_0000_0000, 4);
  return Buffer.concat([GZIP_HEADER, body, trailer]);
}
