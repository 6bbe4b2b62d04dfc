import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import fc from 'fast-check';
import { dump } from 'js-yaml';
import {
  inClusterConfig,
  KubeconfigError,
  loadKubeconfig,
  mergeKubeconfigs,
  parseKubeconfig,
  selectContext,
} from './kubeconfig.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/);

/** A kubeconfig document with one context per cluster/user pair and optional fields in every entry. */
const documents = fc
  .record({
    names: fc.uniqueArray(name, { minLength: 1, maxLength: 4 }),
    server: fc.constantFrom('https://127.0.0.1:6443', 'https://[::1]:8443/', 'http://localhost:8080'),
    ca: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
    caFile: fc.option(fc.constantFrom('ca.crt', '/abs/ca.crt'), { nil: undefined }),
    token: fc.option(fc.string({ minLength: 1, maxLength: 20 }), { nil: undefined }),
    groups: fc.array(name, { maxLength: 3 }),
    as: fc.option(name, { nil: undefined }),
    current: fc.nat(),
  })
  .map((d) => ({
    spec: d,
    doc: {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: d.names.map((n) => ({
        name: n,
        cluster: {
          server: d.server,
          ...(d.ca !== undefined ? { 'certificate-authority-data': b64(d.ca) } : {}),
          ...(d.caFile ? { 'certificate-authority': d.caFile } : {}),
        },
      })),
      users: d.names.map((n) => ({
        name: n,
        user: {
          ...(d.token ? { token: `${d.token}-${n}` } : {}),
          ...(d.as ? { as: d.as, 'as-groups': d.groups } : {}),
        },
      })),
      contexts: d.names.map((n) => ({ name: n, context: { cluster: n, user: n } })),
      'current-context': d.names[d.current % d.names.length],
      preferences: {},
      extensions: [{ name: 'x', extension: { anything: true } }],
    },
  }));

describe('kubeconfig', () => {
  it('reads the current context of any document as it was written', () => {
    fc.assert(
      fc.property(documents, ({ spec, doc }) => {
        const access = selectContext(parseKubeconfig(dump(doc), '/base'));
        const current = doc['current-context'];
        expect(access.context).toBe(current);
        expect(access.cluster.server).toBe(spec.server.replace(/\/+$/, ''));
        expect(access.cluster.caData).toBe(spec.ca);
        expect(access.cluster.caFile).toBe(
          spec.caFile === undefined
            ? undefined
            : spec.caFile.startsWith('/')
              ? spec.caFile
              : `/base/${spec.caFile}`,
        );
        expect(access.user.token).toBe(spec.token ? `${spec.token}-${current}` : undefined);
        expect(access.user.impersonate).toEqual(
          spec.as ? { user: spec.as, uid: undefined, groups: spec.groups, extra: {} } : undefined,
        );
      }),
    );
  });

  it('merges several files as kubectl does: the first to name something wins', () => {
    fc.assert(
      fc.property(documents, documents, ({ doc: a }, { doc: b }) => {
        const merged = mergeKubeconfigs([parseKubeconfig(dump(a)), parseKubeconfig(dump(b))]);
        expect(merged.currentContext).toBe(a['current-context']);
        for (const c of b.clusters) {
          const first = a.clusters.find((x) => x.name === c.name) ?? c;
          expect(merged.clusters.get(c.name)?.server).toBe(first.cluster.server.replace(/\/+$/, ''));
        }
      }),
    );
  });

  it('refuses anything malformed with a KubeconfigError, never another exception', () => {
    const hostile = fc.oneof(
      fc.string(),
      fc.anything().map((v) => dump(v, { skipInvalid: true })),
      documents.chain(({ doc }) =>
        fc
          .record({
            path: fc.constantFrom('clusters', 'users', 'contexts', 'current-context'),
            v: fc.anything(),
          })
          .map(({ path, v }) => dump({ ...doc, [path]: v }, { skipInvalid: true })),
      ),
    );
    fc.assert(
      fc.property(hostile, (text) => {
        try {
          selectContext(parseKubeconfig(text));
        } catch (err) {
          expect(err).toBeInstanceOf(KubeconfigError);
        }
      }),
    );
  });

  it('says what is missing', () => {
    const doc = (over: object) =>
      parseKubeconfig(
        dump({
          clusters: [{ name: 'c', cluster: { server: 'https://h' } }],
          users: [{ name: 'u', user: { token: 't' } }],
          contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
          'current-context': 'x',
          ...over,
        }),
      );
    expect(() => selectContext(doc({ 'current-context': '' }))).toThrow('no current context');
    expect(() => selectContext(doc({}), 'y')).toThrow('context "y" does not exist (have: x)');
    expect(() => selectContext(doc({ clusters: [] }))).toThrow('cluster "c" does not exist');
    expect(() => selectContext(doc({ users: [] }))).toThrow('user "u" does not exist');
    expect(() => selectContext(doc({ clusters: [{ name: 'c', cluster: { server: 'h:1' } }] }))).toThrow(
      'is not an http(s) URL',
    );
    expect(() =>
      doc({ clusters: [{ name: 'c', cluster: { server: 'https://h', 'proxy-url': 'http://p' } }] }),
    ).toThrow('proxy-url is not supported');
    expect(() => parseKubeconfig('a: [')).toThrow(/^not YAML/);
    expect(() => parseKubeconfig(dump({ users: [{ name: 'u', user: { token: 3 } }] }))).toThrow(
      /users\.0\.user\.token/,
    );
  });

  it('loads KUBECONFIG (missing files skipped), then ~/.kube/config, then the Pod, relative paths against each file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
    const file = (n: string, server: string) => {
      const path = join(dir, n);
      writeFileSync(
        path,
        dump({
          clusters: [{ name: n, cluster: { server, 'certificate-authority': 'ca.pem' } }],
          users: [{ name: n, user: { tokenFile: 'token' } }],
          contexts: [{ name: n, context: { cluster: n, user: n } }],
          'current-context': n,
        }),
      );
      return path;
    };
    const a = file('a', 'https://a');
    const b = file('b', 'https://b');
    const merged = loadKubeconfig(undefined, { KUBECONFIG: [join(dir, 'nope'), b, a].join(delimiter) });
    const access = selectContext(merged);
    expect(access.cluster.server).toBe('https://b');
    expect(access.cluster.caFile).toBe(join(dir, 'ca.pem'));
    expect(access.user.tokenFile).toBe(join(dir, 'token'));
    expect(selectContext(merged, 'a').cluster.server).toBe('https://a');
    expect(selectContext(loadKubeconfig(a, { KUBECONFIG: b })).cluster.server).toBe('https://a');
    expect(() => loadKubeconfig(join(dir, 'nope'))).toThrow(/nope: ENOENT/);
    expect(() => loadKubeconfig(undefined, { HOME: dir })).toThrow(/no kubeconfig/);
    expect(inClusterConfig({})).toBeUndefined();
  });
});
