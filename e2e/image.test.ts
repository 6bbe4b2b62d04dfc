// The container image, checked without a container runtime: the Dockerfile is linted and parsed for the invariants
// the manifests rely on (multi-stage, Node 24, non-root, no dev dependencies, entry point = the built main), the
// .dockerignore allow-list is evaluated against the tree, and the build the image runs (`npm run build`) is run here
// and its output started.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import dockerfileUtils from 'dockerfile-utils';
import { loadAll } from 'js-yaml';
import { parseSpec } from '../operator/src/api/connection.ts';
import { ownedNames } from '../operator/src/catalog/names.ts';
import { desiredWorkload } from '../operator/src/connection/workload.ts';
import { imageNodeOptions } from './harness/connector-processes.ts';
import { repoRoot } from './harness/paths.ts';
import { freePorts } from './harness/ports.ts';
import { waitFor } from './harness/wait.ts';

const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
const packageJson = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
};

interface Step {
  keyword: string;
  args: string[];
  flags: Record<string, string>;
  content: string;
}

/** The Dockerfile's stages in order, each a list of its instructions (FROM first). */
function stages(): Step[][] {
  const result: Step[][] = [];
  for (const instruction of DockerfileParser.parse(dockerfile).getInstructions()) {
    const step = toStep(instruction);
    if (step.keyword === 'FROM') result.push([]);
    result.at(-1)?.push(step);
  }
  return result;
}

function toStep(instruction: Instruction): Step {
  const withFlags = instruction as Instruction & {
    getFlags?(): { getName(): string; getValue(): string | null }[];
  };
  return {
    keyword: instruction.getKeyword(),
    args: instruction.getArguments().map((a) => a.getValue()),
    flags: Object.fromEntries((withFlags.getFlags?.() ?? []).map((f) => [f.getName(), f.getValue() ?? ''])),
    content: instruction.getArgumentsContent() ?? '',
  };
}

/** The shell commands of a stage's RUN instructions, split at `&&`, line continuations joined. */
function commands(stage: Step[]): string[][] {
  return stage
    .filter((s) => s.keyword === 'RUN')
    .flatMap((s) => s.content.replace(/\\\r?\n/g, ' ').split('&&'))
    .map((c) => c.trim().split(/\s+/));
}

/**
 * Whether Docker leaves `path` out of the build context: the last matching pattern wins, a pattern matches a path
 * or any of its parent directories, and `!` re-includes (the moby patternmatcher rules).
 */
function dockerIgnored(patterns: string[], path: string): boolean {
  const parents = path.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = dockerPattern((negated ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, ''));
    if (parents.some((p) => pattern.test(p))) ignored = !negated;
  }
  return ignored;
}

/** Go's filepath.Match syntax plus `**` (any number of directories), as Docker reads it; `*` matches dotfiles too. */
function dockerPattern(glob: string): RegExp {
  const literal = (c: string) => c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob.charAt(i);
    if (ch === '*' && glob[i + 1] === '*') {
      i++;
      if (glob[i + 1] === '/') {
        i++;
        re += '(?:.*/)?';
      } else re += '.*';
    } else if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '[') {
      const end = glob.indexOf(']', i + 1);
      re += `[${glob.slice(i + 1, end)}]`;
      i = end;
    } else if (ch === '\\') re += literal(glob.charAt(++i));
    else re += literal(ch);
  }
  return new RegExp(`^${re}$`);
}

const ignorePatterns = readFileSync(join(repoRoot, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

describe('Dockerfile', () => {
  const [build, runtime] = [stages().at(0) ?? [], stages().at(-1) ?? []];

  it('has no finding of the Dockerfile linter (dockerfile-utils, every check as an error)', () => {
    const error = 2;
    const findings = dockerfileUtils.validate(dockerfile, {
      deprecatedMaintainer: error,
      directiveCasing: error,
      emptyContinuationLine: error,
      instructionCasing: error,
      instructionCmdMultiple: error,
      instructionEntrypointMultiple: error,
      instructionHealthcheckMultiple: error,
      instructionJSONInSingleQuotes: error,
      instructionWorkdirRelative: error,
    });
    const text = (m: string | { value: string }) => (typeof m === 'string' ? m : m.value);
    expect(findings.map((f) => `line ${f.range.start.line + 1}: ${text(f.message)}`)).toEqual([]);
  });

  it('builds in a named Node 24 stage and runs on a distroless Node 24 base (the engines Node)', () => {
    expect(stages()).toHaveLength(2);
    expect(build[0]?.args).toEqual(['node:24-bookworm-slim', 'AS', 'build']);
    expect(runtime[0]?.args[0]).toMatch(/^gcr\.io\/distroless\/nodejs24-debian12:nonroot$/);
    const engines = (
      JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { engines: { node: string } }
    ).engines.node;
    expect(engines).toBe('>=24');
    // Same Debian release in both stages, so anything compiled for the build stage runs on the runtime.
    expect(build[0]?.args[0]).toContain('bookworm');
    expect(runtime[0]?.args[0]).toContain('debian12');
  });

  it('builds with the npm scripts CI runs, then removes the dev dependencies', () => {
    const npm = commands(build).filter((c) => c[0] === 'npm');
    expect(npm.map((c) => c.slice(0, 2).join(' '))).toEqual(['npm install', 'npm run', 'npm prune']);
    const scripts = npm.filter((c) => c[1] === 'run').map((c) => c[2] ?? '');
    expect(scripts).toEqual(['build']);
    for (const script of scripts) expect(packageJson.scripts[script]).toBeDefined();
    expect(packageJson.scripts.build).toBe('tsc -p tsconfig.build.json');
    expect(npm.at(-1)).toContain('--omit=dev');
    // What the build reads is copied in: the lock file (install follows it) and both tsconfigs.
    const copied = build.filter((s) => s.keyword === 'COPY').flatMap((s) => s.args.slice(0, -1));
    expect(copied).toEqual([
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.build.json',
      'operator/src',
    ]);
  });

  it('copies only package.json, the pruned node_modules and dist/ into the runtime stage, which runs nothing', () => {
    const copies = runtime.filter((s) => s.keyword === 'COPY');
    expect(copies.map((c) => [c.flags.from, ...c.args])).toEqual([
      ['build', '/src/package.json', './'],
      ['build', '/src/node_modules', './node_modules'],
      ['build', '/src/dist', './dist'],
    ]);
    expect(runtime.map((s) => s.keyword).filter((k) => ['RUN', 'ADD'].includes(k))).toEqual([]);
  });

  it('runs as the non-root user the operator and proxy manifests require', () => {
    const users = runtime.filter((s) => s.keyword === 'USER').map((s) => s.args.join(' '));
    const documents = loadAll(readFileSync(join(repoRoot, 'config', 'manager', 'manager.yaml'), 'utf8')) as {
      kind: string;
      spec: { template: { spec: { securityContext: SecurityContext } } };
    }[];
    const operatorPod = documents.find((d) => d.kind === 'Deployment')?.spec.template.spec.securityContext;
    const parsed = parseSpec({
      controlPlane: { kubeconfigSecretRef: { namespace: 'ns', name: 'cp' } },
      targetNamespace: 't',
    });
    if (!parsed.ok) throw new Error(parsed.message);
    const proxyPod = (
      desiredWorkload({
        connection: 'cp',
        owner: [],
        names: ownedNames('cp'),
        spec: parsed.spec,
        settings: { namespace: 'ns', image: 'i' },
      }).find((o) => o.kind === 'Deployment') as unknown as {
        spec: { template: { spec: { securityContext: SecurityContext } } };
      }
    ).spec.template.spec.securityContext;
    for (const pod of [operatorPod, proxyPod]) {
      expect(pod?.runAsNonRoot).toBe(true);
      expect(users).toEqual([`${pod?.runAsUser}:${pod?.runAsGroup}`]);
    }
  });

  it('starts the built main in exec form, so Node is PID 1 and receives SIGTERM itself', () => {
    const entrypoints = runtime.filter((s) => s.keyword === 'ENTRYPOINT');
    expect(entrypoints).toHaveLength(1);
    const workdir = runtime.find((s) => s.keyword === 'WORKDIR')?.args[0] ?? '';
    const argv = JSON.parse(entrypoints[0]?.content ?? '') as string[];
    expect(argv).toEqual([
      '/nodejs/bin/node',
      ...imageNodeOptions(),
      join(workdir, packageJson.bin['ctp-connector'] ?? ''),
    ]);
    // What the benchmark starts the connector with; V8 options only (the measured memory depends on them).
    expect(imageNodeOptions().length).toBeGreaterThan(0);
    for (const option of imageNodeOptions()) expect(option).toMatch(/^--max-semi-space-size=\d+$/);
  });
});

interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
}

describe('.dockerignore', () => {
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
    cwd: repoRoot,
    encoding: 'utf8',
  })
    .split('\n')
    .filter(Boolean);

  it('sends only what the build stage copies: package files, tsconfigs and the non-test sources', () => {
    const context = files.filter((f) => !dockerIgnored(ignorePatterns, f)).sort();
    const expected = files
      .filter(
        (f) =>
          ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'].includes(f) ||
          (f.startsWith('operator/src/') && !f.endsWith('.test.ts')),
      )
      .sort();
    expect(context).toEqual(expected);
    expect(context).toContain('operator/src/main.ts');
  });

  it.each([
    'node_modules/zod/package.json',
    '.tools/bin/kubectl',
    '.git/HEAD',
    '.dev/app.kubeconfig',
    'dist/operator/src/main.js',
    'coverage/lcov.info',
    '.jest-results.json',
    'e2e/harness/cluster.ts',
    'operator/src/main.test.ts',
    'charts/ctp-connector/values.yaml',
  ])('leaves %s out of the build context', (path) => {
    expect(dockerIgnored(ignorePatterns, path)).toBe(true);
  });
});

describe('built output (npm run build, as in the image)', () => {
  // The image's layout: package.json beside dist/ and node_modules.
  const app = mkdtempSync(join(tmpdir(), 'ctp-image-'));
  const main = join(app, packageJson.bin['ctp-connector'] ?? '');

  beforeAll(() => {
    const npm = spawnSync('npm', ['run', 'build', '--', '--outDir', join(app, 'dist')], {
      cwd: repoRoot,
      encoding: 'utf8',
      env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` },
    });
    if (npm.status !== 0) throw new Error(`npm run build failed: ${npm.stdout}${npm.stderr}`);
    writeFileSync(join(app, 'package.json'), readFileSync(join(repoRoot, 'package.json')));
    symlinkSync(join(repoRoot, 'node_modules'), join(app, 'node_modules'));
  }, 120_000);

  afterAll(() => rmSync(app, { recursive: true, force: true }));

  it('answers --help and rejects an unknown command with exit code 2', () => {
    const help = spawnSync(process.execPath, [main, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^ {2}operator {3}/m);
    expect(help.stdout).toMatch(/^ {2}proxy {6}/m);
    const unknown = spawnSync(process.execPath, [main, 'frobnicate'], { encoding: 'utf8' });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
  });

  it('imports only production dependencies and its own compiled modules (no .ts left, no tests)', () => {
    const js = walk(join(app, 'dist')).filter((f) => f.endsWith('.js'));
    expect(js.filter((f) => f.endsWith('.test.js'))).toEqual([]);
    const problems: string[] = [];
    for (const file of js) {
      const source = readFileSync(file, 'utf8');
      for (const [, spec] of source.matchAll(
        /(?:(?<=[}\s])from\s*|^\s*import\s*|\bimport\s*\(\s*)['"]([^'"]+)['"]/gm,
      )) {
        if (!spec) continue;
        if (spec.startsWith('.')) {
          if (!existsSync(resolve(dirname(file), spec)))
            problems.push(`${relative(app, file)}: ${spec} missing`);
        } else if (!spec.startsWith('node:')) {
          const pkg = spec.startsWith('@')
            ? spec.split('/').slice(0, 2).join('/')
            : (spec.split('/')[0] ?? '');
          if (!(pkg in packageJson.dependencies))
            problems.push(`${relative(app, file)}: ${pkg} is not a dependency`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it.each([
    ['operator', ['--leader-elect=true', '--metrics-bind-address=0']],
    ['proxy', ['--connection=c', '--port=0', '--host=127.0.0.1', '--metrics-bind-address=0']],
  ])(
    '%s exits 0 on SIGTERM, also while it still waits for the API server at start-up',
    async (command, flags) => {
      const dir = mkdtempSync(join(tmpdir(), 'ctp-sigterm-'));
      const [closed] = await freePorts(1);
      // An API server that refuses connections: the process keeps retrying, as in a pod before the network is up.
      const kubeconfig = join(dir, 'kubeconfig');
      writeFileSync(
        kubeconfig,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'c', cluster: { server: `https://127.0.0.1:${closed}` } }],
          users: [{ name: 'u', user: { token: 'not-a-real-token' } }],
          contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
          'current-context': 'c',
        }),
      );
      const health = command === 'operator' ? [`--health-probe-bind-address=127.0.0.1:0`] : [];
      const child = spawn(process.execPath, [
        main,
        command,
        `--kubeconfig=${kubeconfig}`,
        ...flags,
        ...health,
      ]);
      const output: string[] = [];
      child.stdout.on('data', (c: Buffer) => output.push(c.toString()));
      child.stderr.on('data', (c: Buffer) => output.push(c.toString()));
      const exited = new Promise<[number | null, string | null]>((done) =>
        child.on('exit', (code, signal) => done([code, signal])),
      );
      try {
        await waitFor(() => (output.join('').includes('ECONNREFUSED') ? true : undefined), {
          timeoutMs: 20_000,
          what: `${command} to try the API server`,
        });
        const stopping = Date.now();
        child.kill('SIGTERM');
        expect(await exited).toEqual([0, null]);
        expect(Date.now() - stopping).toBeLessThan(10_000);
        expect(output.join('')).toContain('"signal":"SIGTERM"');
      } finally {
        child.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  );
}
