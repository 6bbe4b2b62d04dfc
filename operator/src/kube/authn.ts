// How a kubeconfig user proves who it is, request by request: a bearer token (from the document, from a token file
// re-read every minute as client-go does, or from an exec plugin until the credential expires), basic auth, a
// client certificate, and the impersonation headers it asks for. A 401 drops what was cached, so the next request
// reads the token file or runs the plugin again.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { ClusterAccess, ExecConfig } from './kubeconfig.ts';

export interface Authentication {
  headers: Record<string, string | string[]>;
  /** PEM; the connection pool is rebuilt when these change (an exec plugin's rotating certificate). */
  cert?: string;
  key?: string;
}

export interface Authenticator {
  authenticate(): Promise<Authentication>;
  /** The server answered 401: forget cached tokens and credentials. */
  rejected(): void;
}

/** How long a token read from a file is used before the file is read again (client-go: one minute). */
const tokenFileTtlMs = 60_000;
const execTimeoutMs = 60_000;

export function authenticator(access: ClusterAccess, now = Date.now): Authenticator {
  const { user } = access;
  if (user.authProvider) {
    throw new Error(
      `user "${user.name}": auth-provider "${user.authProvider}" is not supported (kubectl dropped auth providers in 1.26; use an exec plugin)`,
    );
  }
  const fileText = (path: string, what: string) => {
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new Error(
        `user "${user.name}": reading ${what} ${path}: ${(err as NodeJS.ErrnoException).code}`,
        {
          cause: err,
        },
      );
    }
  };
  // Certificate files are read once, when the client is made.
  const cert = user.certData ?? (user.certFile ? fileText(user.certFile, 'client-certificate') : undefined);
  const key = user.keyData ?? (user.keyFile ? fileText(user.keyFile, 'client-key') : undefined);
  const fixed = impersonationHeaders(access);
  if (user.username !== undefined && !user.token && !user.tokenFile && !user.exec) {
    const basic = Buffer.from(`${user.username}:${user.password ?? ''}`).toString('base64');
    fixed.authorization = `Basic ${basic}`;
  }

  let fromFile: { token: string; readAt: number } | undefined;
  let fromExec: Promise<ExecResult> | undefined;
  const token = async (): Promise<{ token?: string; cert?: string; key?: string }> => {
    if (user.token) return { token: user.token };
    if (user.exec) {
      const exec = user.exec;
      const cached = fromExec ? await fromExec.catch(() => undefined) : undefined;
      if (!cached || (cached.expiresAt !== undefined && cached.expiresAt <= now())) {
        fromExec = runExec(exec, access, user.name);
        fromExec.catch(() => (fromExec = undefined));
      }
      return await fromExec!;
    }
    if (user.tokenFile) {
      if (!fromFile || now() - fromFile.readAt >= tokenFileTtlMs)
        fromFile = { token: fileText(user.tokenFile, 'tokenFile').trim(), readAt: now() };
      return { token: fromFile.token };
    }
    return {};
  };

  return {
    async authenticate() {
      const got = await token();
      const headers = { ...fixed };
      if (got.token) headers.authorization = `Bearer ${got.token}`;
      return { headers, cert: got.cert ?? cert, key: got.key ?? key };
    },
    rejected() {
      fromFile = undefined;
      fromExec = undefined;
    },
  };
}

function impersonationHeaders(access: ClusterAccess): Record<string, string | string[]> {
  const as = access.user.impersonate;
  const headers: Record<string, string | string[]> = {};
  if (!as) return headers;
  if (as.user) headers['impersonate-user'] = as.user;
  if (as.uid) headers['impersonate-uid'] = as.uid;
  if (as.groups.length > 0) headers['impersonate-group'] = as.groups;
  for (const [k, values] of Object.entries(as.extra))
    headers[`impersonate-extra-${encodeURIComponent(k)}`] = values;
  return headers;
}

interface ExecResult {
  token?: string;
  cert?: string;
  key?: string;
  expiresAt?: number;
}

/** Runs a client.authentication.k8s.io exec plugin, non-interactively, and reads its ExecCredential. */
export async function runExec(
  exec: ExecConfig,
  access: ClusterAccess,
  userName: string,
): Promise<ExecResult> {
  const info = {
    apiVersion: exec.apiVersion,
    kind: 'ExecCredential',
    spec: {
      interactive: false,
      ...(exec.provideClusterInfo
        ? {
            cluster: {
              server: access.cluster.server,
              'tls-server-name': access.cluster.tlsServerName,
              'insecure-skip-tls-verify': access.cluster.insecureSkipTLSVerify,
              'certificate-authority-data': access.cluster.caData
                ? Buffer.from(access.cluster.caData).toString('base64')
                : undefined,
            },
          }
        : {}),
    },
  };
  const env: NodeJS.ProcessEnv = { ...process.env, KUBERNETES_EXEC_INFO: JSON.stringify(info) };
  for (const { name, value } of exec.env) env[name] = value;
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(
      exec.command,
      exec.args,
      { env, timeout: execTimeoutMs, maxBuffer: 1024 * 1024 },
      (err, out, stderr) => {
        if (err) {
          const detail = stderr.trim().split('\n').slice(-3).join(' ') || err.message;
          reject(new Error(`user "${userName}": exec plugin ${exec.command} failed: ${detail}`));
        } else resolve(out);
      },
    ),
  );
  return parseExecCredential(stdout, `user "${userName}": exec plugin ${exec.command}`);
}

/** An ExecCredential's status (token or client certificate, and when it expires). Pure. */
export function parseExecCredential(stdout: string, source: string): ExecResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw new Error(`${source}: printed no ExecCredential JSON`);
  }
  const status = (parsed as { status?: Record<string, unknown> } | null)?.status;
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const token = str(status?.token);
  const cert = str(status?.clientCertificateData);
  const key = str(status?.clientKeyData);
  if (!token && !(cert && key))
    throw new Error(`${source}: ExecCredential has neither status.token nor a client certificate and key`);
  const expiry = str(status?.expirationTimestamp);
  const expiresAt = expiry ? Date.parse(expiry) : undefined;
  if (expiresAt !== undefined && Number.isNaN(expiresAt))
    throw new Error(`${source}: status.expirationTimestamp "${expiry}" is not a time`);
  return { token, cert, key, expiresAt };
}
