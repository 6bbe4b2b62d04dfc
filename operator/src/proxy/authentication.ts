// Authentication of the aggregator (front proxy): a client certificate that chains to the requestheader CA of
// kube-system/extension-apiserver-authentication, with a CN in the allowed names; only then are the X-Remote-*
// headers trusted. Anything else is 401 — a valid-looking X-Remote-User without the certificate included. Pure
// and total: no header value, however malformed, throws.
import type { TLSSocket } from 'node:tls';
import type { Stage } from './chain.ts';
import { StatusError } from './respond.ts';

export interface RequestHeaderConfig {
  caPem: string;
  allowedNames: string[];
  usernameHeaders: string[];
  uidHeaders: string[];
  groupHeaders: string[];
  extraHeaderPrefixes: string[];
}

export interface UserInfo {
  name: string;
  uid?: string;
  groups: string[];
  extra: Record<string, string[]>;
}

/** Reads the requestheader settings kube-apiserver publishes; undefined when aggregation is not configured. */
export function parseRequestHeaderConfig(
  data: Record<string, string> | undefined,
): RequestHeaderConfig | undefined {
  const caPem = data?.['requestheader-client-ca-file'];
  if (!caPem) return undefined;
  const list = (key: string, fallback: string[]) => {
    const raw = data[key];
    if (!raw) return fallback;
    try {
      const parsed = JSON.parse(raw) as unknown;
      return Array.isArray(parsed) ? parsed.map(String) : fallback;
    } catch {
      return fallback;
    }
  };
  return {
    caPem,
    allowedNames: list('requestheader-allowed-names', []),
    usernameHeaders: list('requestheader-username-headers', ['X-Remote-User']),
    uidHeaders: list('requestheader-uid-headers', []),
    groupHeaders: list('requestheader-group-headers', ['X-Remote-Group']),
    extraHeaderPrefixes: list('requestheader-extra-headers-prefix', ['X-Remote-Extra-']),
  };
}

export interface PeerCertificate {
  /** The TLS layer verified the chain against the requestheader CA. */
  authorized: boolean;
  commonName: string | undefined;
}

export type AuthResult = { ok: true; user: UserInfo } | { ok: false; reason: string };

export function authenticate(
  peer: PeerCertificate,
  headers: Record<string, string | string[] | undefined>,
  config: RequestHeaderConfig | undefined,
): AuthResult {
  if (!config)
    return { ok: false, reason: 'the cluster publishes no requestheader CA: aggregation is not configured' };
  if (!peer.commonName) return { ok: false, reason: 'no client certificate' };
  if (!peer.authorized)
    return { ok: false, reason: 'client certificate is not signed by the requestheader CA' };
  if (config.allowedNames.length > 0 && !config.allowedNames.includes(peer.commonName)) {
    return {
      ok: false,
      reason: `client certificate CN ${peer.commonName} is not an allowed requestheader name`,
    };
  }
  const values = (name: string): string[] => {
    const v = headers[name.toLowerCase()];
    return v === undefined ? [] : Array.isArray(v) ? v : [v];
  };
  const name = config.usernameHeaders.flatMap(values)[0];
  if (!name) return { ok: false, reason: 'no user in the requestheader username headers' };
  const uid = config.uidHeaders.flatMap(values)[0];
  const groups = config.groupHeaders.flatMap(values);
  // No prototype: an extra named "__proto__" is a key like any other.
  const extra: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const [header, value] of Object.entries(headers)) {
    for (const prefix of config.extraHeaderPrefixes) {
      if (!header.startsWith(prefix.toLowerCase())) continue;
      const key = unescapeExtraKey(header.slice(prefix.length)).toLowerCase();
      extra[key] = [...(extra[key] ?? []), ...(Array.isArray(value) ? value : [value ?? ''])];
    }
  }
  return { ok: true, user: withAuthenticatedGroup({ name, ...(uid ? { uid } : {}), groups, extra }) };
}

/**
 * As k8s.io/apiserver's AuthenticatedGroupAdder: every user gets system:authenticated, except the anonymous user and
 * members of system:unauthenticated (an aggregator forwarding an anonymous request must not make it authenticated).
 */
export function withAuthenticatedGroup(user: UserInfo): UserInfo {
  const anonymous = user.name === 'system:anonymous' || user.groups.includes('system:unauthenticated');
  if (anonymous || user.groups.includes('system:authenticated')) return user;
  return { ...user, groups: [...user.groups, 'system:authenticated'] };
}

/** Extra keys are percent-encoded by the aggregator; a malformed escape keeps the raw key, as k8s.io/apiserver does. */
function unescapeExtraKey(encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    return encoded;
  }
}

/**
 * The authentication stage: the TLS layer verified the chain (requestCert, the requestheader CA as trust); this
 * checks that a certificate was sent and is an allowed name, then reads the user. Everything else is 401.
 */
export function authentication(configOf: () => RequestHeaderConfig | undefined): Stage {
  return async (ctx, next) => {
    const socket = ctx.req.socket as TLSSocket;
    const peer = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : undefined;
    const result = authenticate(
      { authorized: socket.authorized === true, commonName: peer?.subject?.CN as string | undefined },
      // Distinct values: the aggregator repeats X-Remote-Group once per group, which req.headers would join.
      ctx.req.headersDistinct,
      configOf(),
    );
    if (!result.ok) {
      ctx.audit.fields.reason = result.reason;
      throw new StatusError(401, 'Unauthorized', 'Unauthorized');
    }
    ctx.user = result.user;
    await next();
  };
}
