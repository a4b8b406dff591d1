/**
 * A folder of in-memory files as one tar archive (tar-stream writes the
 * ustar headers). Everything sits under one top folder, so extracting the
 * download gives a directory to pass to from_pretrained.
 */
import { pack } from 'tar-stream';

export interface TarOptions {
  /** Modification time of every entry; fixed by callers that want identical archives. */
  mtime?: Date;
}

const FOLDER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export async function tarFolder(folder: string, files: Map<string, Uint8Array>, opts: TarOptions = {}): Promise<Uint8Array> {
  // Plain names only, so no entry can land outside the folder when extracted.
  for (const name of [folder, ...files.keys()]) {
    if (!FOLDER_NAME.test(name) || name.includes('..')) throw new Error(`tar: "${name}" is not a plain file name`);
  }
  const mtime = opts.mtime ?? new Date();
  const archive = pack();
  archive.entry({ name: `${folder}/`, type: 'directory', mode: 0o755, mtime });
  for (const [name, bytes] of files) archive.entry({ name: `${folder}/${name}`, mode: 0o644, mtime }, bytes);
  archive.finalize();
  // The pack buffers what it is given; reading it to the end yields every block.
  const chunks: Uint8Array[] = [];
  for await (const chunk of archive) chunks.push(chunk as Uint8Array);
  return concat(chunks);
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
