import { describe, expect, it } from '@jest/globals';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { authenticator, parseExecCredential } from './authn.ts';
import type { ClusterAccess, UserConfig } from './kubeconfig.ts';

const access = (user: Omit<UserConfig, 'name'>): ClusterAccess => ({
  context: 'c',
  cluster: { name: 'c', server: 'https://127.0.0.1:6443', insecureSkipTLSVerify: false, caData: 'CA' },
  user: { name: 'u', ...user },
});

/** A user whose exec plugin is `script` (written to a fresh directory, returned with it). */
function execUser(
  script: (dir: string) => string,
  env: { name: string; value: string }[] = [],
): { dir: string; user: ClusterAccess } {
  const dir = mkdtempSync(join(tmpdir(), 'authn-'));
  const plugin = join(dir, 'plugin.sh');
  writeFileSync(plugin, script(dir));
  chmodSync(plugin, 0o755);
  const exec = {
    apiVersion: 'client.authentication.k8s.io/v1',
    command: plugin,
    args: [],
    env,
    provideClusterInfo: true,
  };
  return { dir, user: access({ exec }) };
}

describe('authentication', () => {
  it('sends the token, basic auth and the impersonation the kubeconfig asks for', async () => {
    expect((await authenticator(access({ token: 't' })).authenticate()).headers).toEqual({
      authorization: 'Bearer t',
    });
    expect((await authenticator(access({ username: 'a', password: 'b' })).authenticate()).headers).toEqual({
      authorization: `Basic ${Buffer.from('a:b').toString('base64')}`,
    });
    const as = await authenticator(
      access({ token: 't', impersonate: { user: 'sa', groups: ['g1', 'g2'], extra: { 'a/b': ['x'] } } }),
    ).authenticate();
    expect(as.headers).toEqual({
      authorization: 'Bearer t',
      'impersonate-user': 'sa',
      'impersonate-group': ['g1', 'g2'],
      'impersonate-extra-a%2Fb': ['x'],
    });
    expect((await authenticator(access({ certData: 'C', keyData: 'K' })).authenticate()).cert).toBe('C');
    expect(() => authenticator(access({ authProvider: 'gcp' }))).toThrow(
      'auth-provider "gcp" is not supported',
    );
  });

  it('reads a token file again after a minute, or at once after a 401', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'authn-'));
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'one\n');
    let now = 1_000_000;
    const auth = authenticator(access({ tokenFile }), () => now);
    const bearer = async () => (await auth.authenticate()).headers.authorization;
    expect(await bearer()).toBe('Bearer one');
    writeFileSync(tokenFile, 'two\n');
    now += 59_000;
    expect(await bearer()).toBe('Bearer one');
    now += 1_000;
    expect(await bearer()).toBe('Bearer two');
    writeFileSync(tokenFile, 'three');
    auth.rejected();
    expect(await bearer()).toBe('Bearer three');
  });

  it('runs an exec plugin once until its credential expires, with KUBERNETES_EXEC_INFO and its env', async () => {
    // Prints a token naming its run, its env and what it was told about the cluster; expires in `$EXPIRES`.
    const { dir, user } = execUser(
      (dir) =>
        [
          '#!/bin/sh',
          `echo x >> ${join(dir, 'runs')}`,
          `n=$(wc -l < ${join(dir, 'runs')} | tr -d ' ')`,
          `printf '%s' "$KUBERNETES_EXEC_INFO" > ${join(dir, 'info')}`,
          'printf \'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"run%s-%s","expirationTimestamp":"%s"}}\' "$n" "$GREETING" "$EXPIRES"',
        ].join('\n'),
      [
        { name: 'GREETING', value: 'hi' },
        { name: 'EXPIRES', value: '2026-01-01T00:10:00Z' },
      ],
    );
    let now = Date.parse('2026-01-01T00:00:00Z');
    const auth = authenticator(user, () => now);
    const bearer = async () => (await auth.authenticate()).headers.authorization;
    expect(await Promise.all([bearer(), bearer()])).toEqual(['Bearer run1-hi', 'Bearer run1-hi']);
    now += 9 * 60_000;
    expect(await bearer()).toBe('Bearer run1-hi');
    now += 60_000;
    expect(await bearer()).toBe('Bearer run2-hi');
    auth.rejected();
    expect(await bearer()).toBe('Bearer run3-hi');
    const info = JSON.parse(readFileSync(join(dir, 'info'), 'utf8')) as Record<string, unknown>;
    expect(info).toMatchObject({
      kind: 'ExecCredential',
      spec: { interactive: false, cluster: { server: 'https://127.0.0.1:6443' } },
    });
  });

  it('reports a failing plugin with its stderr, and runs it again next time', async () => {
    const { user } = execUser(() => '#!/bin/sh\necho "no credentials configured" >&2\nexit 1\n');
    const auth = authenticator(user);
    await expect(auth.authenticate()).rejects.toThrow('exec plugin');
    await expect(auth.authenticate()).rejects.toThrow('no credentials configured');
  });

  it('reads any plugin output into a credential or a clear error', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.anything().map((v) => JSON.stringify(v) ?? ''),
          fc
            .record({
              token: fc.option(fc.string(), { nil: undefined }),
              clientCertificateData: fc.option(fc.string(), { nil: undefined }),
              clientKeyData: fc.option(fc.string(), { nil: undefined }),
              expirationTimestamp: fc.option(
                fc.oneof(
                  fc.string(),
                  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
                ),
                {
                  nil: undefined,
                },
              ),
            })
            .map((status) => JSON.stringify({ kind: 'ExecCredential', status })),
        ),
        (stdout) => {
          let got;
          try {
            got = parseExecCredential(stdout, 'plugin');
          } catch (err) {
            expect((err as Error).message).toMatch(/^plugin: /);
            return;
          }
          expect(got.token || (got.cert && got.key)).toBeTruthy();
          if (got.expiresAt !== undefined) expect(Number.isNaN(got.expiresAt)).toBe(false);
        },
      ),
    );
  });
});
