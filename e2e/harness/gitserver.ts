// A Git server on loopback for the GitOps suites: git's own `git http-backend` (smart HTTP, protocol v2) behind a
// small Node HTTP server, so Flux's source-controller and Argo CD's repo-server fetch a real repository the way they
// fetch one from a forge. Each repository has a working clone that the test writes, commits and pushes (over the
// same HTTP endpoint, so receive-pack is exercised too).
import { execFile, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface GitRequest {
  method: string;
  /** Path after the server root, e.g. `/claims.git/git-upload-pack`. */
  path: string;
  /** The Git service asked for (`git-upload-pack` fetches, `git-receive-pack` pushes), when there is one. */
  service?: string;
  status: number;
}

export interface GitRepository {
  name: string;
  /** Clone URL: http://127.0.0.1:<port>/<name>.git */
  url: string;
  branch: string;
  /** The working clone the test writes into. */
  workTree: string;
  /** Writes files (paths relative to the repository root; parent directories are created). */
  write(files: Record<string, string>): void;
  /** Copies a directory tree into the repository at `to` (default: the root). */
  copy(from: string, to?: string): void;
  /** Removes a file or directory from the working tree. */
  remove(path: string): void;
  /** Stages every change of the working tree and commits it; returns the commit's SHA. */
  commit(message: string): Promise<string>;
  /** Pushes the branch to the server; returns the SHA the server's branch now points at. */
  push(): Promise<string>;
  /** commit + push. */
  publish(message: string): Promise<string>;
  /** The SHA of the branch on the server (read from the bare repository, not the clone). */
  serverHead(): Promise<string>;
}

export interface GitServer {
  /** http://127.0.0.1:<port> */
  url: string;
  dir: string;
  /** Creates a bare repository served at `<url>/<name>.git` and a working clone of it. */
  repo(name: string): Promise<GitRepository>;
  /** Every request answered so far, in order. */
  requests(): readonly GitRequest[];
  stop(): Promise<void>;
}

export interface GitServerOptions {
  /** Directory for the bare repositories and clones; created if missing, removed on stop. Default: a fresh one. */
  dir?: string;
  /** Branch the repositories start on. Default `main`. */
  branch?: string;
}

// Git reads no configuration of the machine or the user: the tests must not depend on either.
const gitEnv: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: tmpdir(),
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'ctp-connector e2e',
  GIT_AUTHOR_EMAIL: 'e2e@ctp-connector.invalid',
  GIT_COMMITTER_NAME: 'ctp-connector e2e',
  GIT_COMMITTER_EMAIL: 'e2e@ctp-connector.invalid',
  GIT_TERMINAL_PROMPT: '0',
};

async function git(cwd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run('git', args, { cwd, env: gitEnv });
    return stdout.trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`git ${args.join(' ')} in ${cwd}: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}

const repoName = /^[a-z0-9][a-z0-9._-]*$/;

export async function startGitServer(options: GitServerOptions = {}): Promise<GitServer> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'ctp-git-'));
  const branch = options.branch ?? 'main';
  const root = join(dir, 'repositories');
  const clones = join(dir, 'clones');
  mkdirSync(root, { recursive: true });
  mkdirSync(clones, { recursive: true });
  const log: GitRequest[] = [];

  const server = createServer((req, res) => {
    serve(root, req, res, (entry) => log.push(entry));
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const names = new Set<string>();

  return {
    url,
    dir,
    requests: () => log,
    async repo(name) {
      if (!repoName.test(name))
        throw new Error(`git server: invalid repository name ${JSON.stringify(name)}`);
      if (names.has(name)) throw new Error(`git server: repository ${name} exists`);
      names.add(name);
      const bare = join(root, `${name}.git`);
      await git(root, ['init', '--quiet', '--bare', '--initial-branch', branch, bare]);
      // Pushes arrive without an authenticated user; allow them (the server only listens on loopback).
      await git(bare, ['config', 'http.receivepack', 'true']);
      const workTree = join(clones, name);
      const repoUrl = `${url}/${name}.git`;
      await git(clones, ['init', '--quiet', '--initial-branch', branch, workTree]);
      await git(workTree, ['remote', 'add', 'origin', repoUrl]);
      const inside = (path: string) => {
        const target = resolve(workTree, path);
        if (
          target === workTree ||
          !target.startsWith(workTree + sep) ||
          target.startsWith(join(workTree, '.git'))
        )
          throw new Error(`git server: ${path} is not a path inside the repository ${name}`);
        return target;
      };
      const repository: GitRepository = {
        name,
        url: repoUrl,
        branch,
        workTree,
        write(files) {
          for (const [path, content] of Object.entries(files)) {
            const target = inside(path);
            mkdirSync(dirname(target), { recursive: true });
            writeFileSync(target, content);
          }
        },
        copy(from, to = '.') {
          const target = to === '.' ? workTree : inside(to);
          cpSync(from, target, { recursive: true });
        },
        remove(path) {
          rmSync(inside(path), { recursive: true, force: true });
        },
        async commit(message) {
          await git(workTree, ['add', '--all']);
          await git(workTree, ['commit', '--quiet', '--allow-empty', '--message', message]);
          return git(workTree, ['rev-parse', 'HEAD']);
        },
        async push() {
          await git(workTree, ['push', '--quiet', 'origin', `HEAD:refs/heads/${branch}`]);
          return repository.serverHead();
        },
        async publish(message) {
          await repository.commit(message);
          return repository.push();
        },
        serverHead: () => git(bare, ['rev-parse', `refs/heads/${branch}`]),
      };
      return repository;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs one request through `git http-backend` (a CGI program) and streams its answer back. */
function serve(
  root: string,
  req: IncomingMessage,
  res: ServerResponse,
  record: (r: GitRequest) => void,
): void {
  const url = new URL(req.url ?? '/', 'http://git.invalid');
  const service =
    url.searchParams.get('service') ??
    /\/(git-(?:upload|receive)-pack)$/.exec(url.pathname)?.[1] ??
    undefined;
  const entry: GitRequest = { method: req.method ?? 'GET', path: url.pathname, status: 0 };
  if (service) entry.service = service;
  const answer = (status: number, text: string) => {
    entry.status = status;
    record(entry);
    res.writeHead(status, { 'Content-Type': 'text/plain' }).end(text);
  };
  let pathInfo: string;
  try {
    pathInfo = decodeURIComponent(url.pathname);
  } catch {
    return answer(400, 'bad path\n');
  }
  const header = (name: string) => {
    const value = req.headers[name];
    return Array.isArray(value) ? value.join(', ') : (value ?? '');
  };
  // The CGI variables git http-backend reads (git-http-backend(1)); it refuses paths that leave GIT_PROJECT_ROOT.
  const env: NodeJS.ProcessEnv = {
    ...gitEnv,
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    PATH_INFO: pathInfo,
    REQUEST_METHOD: req.method ?? 'GET',
    QUERY_STRING: url.search.slice(1),
    CONTENT_TYPE: header('content-type'),
    REMOTE_ADDR: req.socket.remoteAddress ?? '',
    HTTP_CONTENT_ENCODING: header('content-encoding'),
    GIT_PROTOCOL: header('git-protocol'),
  };
  if (req.headers['content-length'] !== undefined) env.CONTENT_LENGTH = header('content-length');
  const backend = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  backend.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  backend.stdin.on('error', () => undefined); // the backend may answer before reading the whole body
  req.pipe(backend.stdin);

  // The CGI answer: header lines (`Status: 404 Not Found` among them), a blank line, then the body.
  let head = Buffer.alloc(0);
  let started = false;
  backend.stdout.on('data', (chunk: Buffer) => {
    if (started) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    const endLf = head.indexOf('\n\n');
    const [at, gap] = end >= 0 && (endLf < 0 || end < endLf) ? [end, 4] : [endLf, 2];
    if (at < 0) return;
    started = true;
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of head.subarray(0, at).toString('latin1').split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const key = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (key.toLowerCase() === 'status') status = Number.parseInt(value, 10);
      else headers[key] = value;
    }
    entry.status = status;
    record(entry);
    res.writeHead(status, headers);
    res.write(head.subarray(at + gap));
  });
  backend.on('close', (code) => {
    if (!started) answer(502, `git http-backend exited (${code}) without an answer: ${stderr.trim()}\n`);
    else res.end();
  });
  backend.on('error', (err) => {
    if (!started) answer(502, `git http-backend: ${err.message}\n`);
  });
}
