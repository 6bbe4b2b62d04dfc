// The loopback Git server of the GitOps suites: the git CLI clones, fetches and pushes through it, over protocol v2,
// it serves nothing outside its repositories, and it leaves no port or directory behind.
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startGitServer, type GitServer } from './harness/gitserver.ts';
import { portIsFree } from './harness/ports.ts';

const run = promisify(execFile);
// The server runs in this process: a client must run asynchronously, or the server could not answer it.
const git = async (args: string[], cwd?: string) =>
  (
    await run('git', args, {
      cwd,
      env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' },
    })
  ).stdout;

/** A raw GET whose path is sent as written (fetch would normalize `..` away). */
function rawGet(url: string, path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('loopback git server', () => {
  let server: GitServer;
  let scratch: string;
  beforeAll(async () => {
    server = await startGitServer();
    scratch = mkdtempSync(join(tmpdir(), 'ctp-git-client-'));
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('serves commits, directory trees and removals to git clone and fetch over protocol v2', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const repo = await server.repo('fleet');
    const tree = join(scratch, 'tree');
    mkdirSync(join(tree, 'nested'), { recursive: true });
    writeFileSync(join(tree, 'nested', 'claim.yaml'), 'kind: Claim\n');
    repo.copy(tree, 'claims');
    repo.write({ 'README.md': 'fleet\n' });
    const first = await repo.publish('first');
    expect(first).toBe(await repo.serverHead());

    const clone = join(scratch, 'clone');
    await git(['-c', 'protocol.version=2', 'clone', '--quiet', repo.url, clone]);
    expect(readFileSync(join(clone, 'claims', 'nested', 'claim.yaml'), 'utf8')).toBe('kind: Claim\n');
    expect((await git(['rev-parse', 'HEAD'], clone)).trim()).toBe(first);

    repo.remove('claims/nested');
    repo.write({ 'claims/other.yaml': 'kind: Other\n' });
    const second = await repo.publish('second');
    expect(second).not.toBe(first);
    expect((await git(['ls-remote', repo.url, `refs/heads/${repo.branch}`])).split('\t')[0]).toBe(second);
    await git(['-c', 'protocol.version=2', 'pull', '--quiet', '--ff-only'], clone);
    expect(existsSync(join(clone, 'claims', 'nested'))).toBe(false);
    expect(readdirSync(join(clone, 'claims'))).toEqual(['other.yaml']);

    const services = server.requests().filter((r) => r.path.startsWith('/fleet.git/'));
    expect(
      services.some((r) => r.service === 'git-receive-pack' && r.method === 'POST' && r.status === 200),
    ).toBe(true);
    expect(
      services.some((r) => r.service === 'git-upload-pack' && r.method === 'POST' && r.status === 200),
    ).toBe(true);
  });

  it('answers the protocol v2 capability advertisement a Go client asks for', async () => {
    await server.repo('advertised');
    const res = await fetch(`${server.url}/advertised.git/info/refs?service=git-upload-pack`, {
      headers: { 'Git-Protocol': 'version=2' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-git-upload-pack-advertisement');
    expect(await res.text()).toContain('version 2');
  });

  it('serves nothing outside its repositories', async () => {
    const repo = await server.repo('guarded');
    repo.write({ 'secret.txt': 'inside\n' });
    await repo.publish('guarded');
    for (const path of [
      '/../clones/guarded/secret.txt',
      '/guarded.git/../../clones/guarded/secret.txt',
      '/%2e%2e/clones/guarded/secret.txt',
      '/missing.git/info/refs?service=git-upload-pack',
    ]) {
      const res = await rawGet(server.url, path);
      expect({ path, refused: res.status >= 400 }).toEqual({ path, refused: true });
      expect(res.body).not.toContain('inside');
    }
    expect(() => repo.write({ '../escape.txt': 'x' })).toThrow(/not a path inside/);
    expect(() => repo.remove('.git')).toThrow(/not a path inside/);
    await expect(server.repo('../escape')).rejects.toThrow(/invalid repository name/);
    await expect(server.repo('guarded')).rejects.toThrow(/exists/);
  });

  it('leaves no listener and no directory behind on stop', async () => {
    const other = await startGitServer();
    await other.repo('short-lived');
    const port = Number(new URL(other.url).port);
    await other.stop();
    expect(await portIsFree(port)).toBe(true);
    expect(existsSync(other.dir)).toBe(false);
  });
});
