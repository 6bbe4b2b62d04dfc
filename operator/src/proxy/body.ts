// Request bodies: read with kube-apiserver's limit (3 MiB, answered 413 before reading further), decoded as JSON,
// or as YAML without aliases (a few hundred bytes of nested aliases expand to gigabytes), and capped again after
// decoding. Decoding is pure; reading is the one place the proxy consumes a request stream.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { load } from 'js-yaml';
import type { BodyType } from './media.ts';
import { StatusError } from './respond.ts';

export const maxBodyBytes = 3 * 1024 * 1024;
/** Nesting deeper than this is refused: kube-apiserver's decoders stop at 10 000 levels too. */
export const maxDepth = 10_000;

const tooLarge = () =>
  new StatusError(413, 'RequestEntityTooLarge', `the request body is larger than ${maxBodyBytes} bytes`);

/** An upload over the limit is read on and thrown away up to this much, so the client gets its 413. */
const maxDiscardBytes = 64 * 1024 * 1024;

/**
 * The whole body. A body over the limit is refused with 413 — but only once the client has sent it, thrown away
 * without keeping it (up to 64 MiB): a client still writing its request when the connection closes sees a reset,
 * not the answer (Go's transport, the aggregator's, reports "connection reset by peer"). The answer then asks the
 * client to close the connection.
 */
export function readBody(req: IncomingMessage, res: ServerResponse, limit = maxBodyBytes): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    const refuse = () => {
      res.setHeader('connection', 'close');
      reject(tooLarge());
    };
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) over = true;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) over = true;
      if (!over) chunks.push(chunk);
      else if (size > maxDiscardBytes) {
        refuse();
        req.destroy();
      }
    });
    req.once('end', () => (over ? refuse() : resolve(Buffer.concat(chunks).toString('utf8'))));
    req.once('error', (err) =>
      reject(new StatusError(400, 'BadRequest', `the request body could not be read: ${err.message}`)),
    );
    req.once('aborted', () => reject(new StatusError(400, 'BadRequest', 'the request body was cut off')));
  });
}

/** Parses a body of `type`; undefined for an empty body. Throws 400 (malformed) or 413 (too large once decoded). */
export function decodeBody(raw: string, type: BodyType, limit = maxBodyBytes): unknown {
  if (raw.trim() === '') return undefined;
  let value: unknown;
  try {
    value =
      type === 'application/yaml' || type === 'application/apply-patch+yaml'
        ? decodeYAML(raw)
        : JSON.parse(raw);
  } catch (err) {
    if (err instanceof StatusError) throw err;
    throw new StatusError(
      400,
      'BadRequest',
      `the request body is not valid ${type}: ${(err as Error).message}`,
    );
  }
  if (depthExceeds(value, maxDepth))
    throw new StatusError(400, 'BadRequest', `the request body is nested deeper than ${maxDepth} levels`);
  if (
    type !== 'application/json' &&
    type !== 'application/json-patch+json' &&
    type !== 'application/merge-patch+json'
  ) {
    // YAML can be shorter than what it stands for; what goes up is JSON and must fit the limit too.
    if (Buffer.byteLength(JSON.stringify(value)) > limit) throw tooLarge();
  }
  return value;
}

function decodeYAML(raw: string): unknown {
  // JSON is YAML: most clients (kubectl among them) send apply patches as JSON, which parses faster as JSON.
  try {
    return JSON.parse(raw);
  } catch {
    // not JSON: YAML then
  }
  try {
    return load(raw, { maxAliases: 0 });
  } catch (err) {
    const message = (err as Error).message;
    if (/maxAliases/.test(message))
      throw new StatusError(
        400,
        'BadRequest',
        'the request body is not valid YAML: YAML aliases are not supported',
      );
    throw err;
  }
}

/** Iterative, so a hostile nesting cannot overflow the stack here. */
function depthExceeds(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth > limit) return true;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return false;
}
