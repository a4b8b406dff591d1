import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_GPU_MEMORY } from '../run-client/run-client';
import { ArgsError, parseClientArgs } from './args';

const HOME = '/home/volunteer';
const C = ['--coordinator', 'http://host:8080'];

function argsError(argv: string[]): ArgsError {
  try {
    parseClientArgs(argv, HOME);
  } catch (err) {
    expect(err).toBeInstanceOf(ArgsError);
    return err as ArgsError;
  }
  throw new Error(`expected ArgsError for ${JSON.stringify(argv)}`);
}

describe('parseClientArgs', () => {
  it('requires --coordinator unless --help or --list-adapters', () => {
    expect(argsError([]).message).toMatch(/--coordinator/);
    expect(argsError(['--json']).message).toMatch(/--coordinator/);
    const help = parseClientArgs(['--help'], HOME);
    expect(help.help).toBe(true);
    expect(help.coordinator).toBeNull();
    expect(parseClientArgs(['-h'], HOME).help).toBe(true);
    const list = parseClientArgs(['--list-adapters'], HOME);
    expect(list.listAdapters).toBe(true);
    expect(list.help).toBe(false);
    expect(list.coordinator).toBeNull();
  });

  it('keeps only the origin of the coordinator URL', () => {
    expect(parseClientArgs(['--coordinator', 'http://h:8080/x'], HOME).coordinator).toBe('http://h:8080');
    expect(parseClientArgs(['--coordinator', 'https://example.org/a/b?c=d#e'], HOME).coordinator).toBe('https://example.org');
    expect(parseClientArgs(['--coordinator=http://h:8080/'], HOME).coordinator).toBe('http://h:8080');
    // The default port is dropped and the host lower-cased, as URL.origin does.
    expect(parseClientArgs(['--coordinator', 'HTTP://Host:80/'], HOME).coordinator).toBe('http://host');
  });

  it('rejects a coordinator that is not an http(s) URL', () => {
    expect(argsError(['--coordinator', 'ws://h:8080']).message).toMatch(/http/);
    expect(argsError(['--coordinator', 'wss://h:8080']).message).toMatch(/http/);
    expect(argsError(['--coordinator', 'not a url']).message).toMatch(/not a URL/);
    expect(argsError(['--coordinator', 'host:8080']).message).toMatch(/--coordinator/);
    expect(argsError(['--coordinator', '']).message).toMatch(/--coordinator/);
  });

  it('reads GPU memory sizes in bytes, K, M and G', () => {
    const size = (s: string) => parseClientArgs([...C, '--gpu-memory', s], HOME).gpuMemory;
    expect(size('8G')).toBe(8 * 2 ** 30);
    expect(size('512M')).toBe(512 * 2 ** 20);
    expect(size('1.5G')).toBe(1.5 * 2 ** 30);
    expect(size('2147483648')).toBe(2147483648);
    expect(size('4GiB')).toBe(4 * 2 ** 30);
    expect(size('64k')).toBe(64 * 1024);
    expect(size('8g')).toBe(8 * 2 ** 30);
  });

  it('rejects GPU memory sizes that are not positive sizes', () => {
    for (const bad of ['0', 'lots', '8T', '', 'G', '1e9', '0.1']) {
      expect(argsError([...C, '--gpu-memory', bad]).message, bad).toMatch(/gpu-memory/);
    }
    // A value starting with a dash: node's parser refuses it as ambiguous, or the size check does.
    argsError([...C, '--gpu-memory', '-1']);
    expect(argsError([...C, '--gpu-memory=-1']).message).toMatch(/gpu-memory/);
  });

  it('defaults the GPU memory to the tab default', () => {
    expect(parseClientArgs(C, HOME).gpuMemory).toBe(DEFAULT_GPU_MEMORY);
  });

  it('puts the state under HOME/.tessera and the key in it, unless told otherwise', () => {
    const a = parseClientArgs(C, HOME);
    expect(a.stateDir).toBe(join(HOME, '.tessera'));
    expect(a.keyFile).toBe(join(HOME, '.tessera', 'key.json'));
    expect(a.json).toBe(false);
    expect(a.adapter).toBeNull();

    const s = parseClientArgs([...C, '--state', '/srv/tessera'], HOME);
    expect(s.stateDir).toBe('/srv/tessera');
    expect(s.keyFile).toBe('/srv/tessera/key.json');

    const k = parseClientArgs([...C, '--state', '/srv/tessera', '--key', '/etc/tessera/id.json'], HOME);
    expect(k.stateDir).toBe('/srv/tessera');
    expect(k.keyFile).toBe('/etc/tessera/id.json');

    // Relative paths are made absolute.
    const r = parseClientArgs([...C, '--state', 'st', '--key', 'k.json'], HOME);
    expect(r.stateDir).toBe(resolve('st'));
    expect(r.keyFile).toBe(resolve('k.json'));
  });

  it('reads --adapter and --json', () => {
    const a = parseClientArgs([...C, '--adapter', 'NVIDIA', '--json'], HOME);
    expect(a.adapter).toBe('NVIDIA');
    expect(a.json).toBe(true);
  });

  it('rejects unknown flags, positionals and an empty adapter name', () => {
    expect(argsError([...C, '--gpu', '8G']).message).toMatch(/gpu/);
    expect(argsError([...C, '--verbose']).message).toMatch(/verbose/);
    argsError([...C, 'extra']);
    expect(argsError([...C, '--adapter', '']).message).toMatch(/--adapter/);
    expect(argsError([...C, '--adapter=']).message).toMatch(/--adapter/);
    // A string flag without its value.
    argsError(['--coordinator']);
  });
});
