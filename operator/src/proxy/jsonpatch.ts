// RFC 6902 JSON Patch, applied by the proxy itself: a JSON patch names paths in the app cluster's view of a claim
// (`/metadata/labels`, `""`), which are not the stored object's, so the proxy applies it to the app view and stores
// the translated result (see storage). Pure: the input is never modified.
import { StatusError } from './respond.ts';

export interface Operation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  from?: string;
  value?: unknown;
}

const ops = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

const invalid = (message: string) => new StatusError(422, 'Invalid', message);

/** Checks the shape of a JSON patch body; throws 400 as kube-apiserver does for an undecodable patch. */
export function parseOperations(body: unknown): Operation[] {
  if (!Array.isArray(body))
    throw new StatusError(400, 'BadRequest', 'a JSON patch must be an array of operations');
  return body.map((raw: unknown, i) => {
    const op = raw as Record<string, unknown> | null;
    if (!op || typeof op !== 'object' || Array.isArray(op) || typeof op.op !== 'string' || !ops.has(op.op))
      throw new StatusError(400, 'BadRequest', `JSON patch operation ${i} has no valid "op"`);
    if (typeof op.path !== 'string')
      throw new StatusError(400, 'BadRequest', `JSON patch operation ${i} has no "path"`);
    if ((op.op === 'move' || op.op === 'copy') && typeof op.from !== 'string')
      throw new StatusError(
        400,
        'BadRequest',
        `JSON patch operation ${i} (${op.op}) names no pointer to take the value from`,
      );
    if ((op.op === 'add' || op.op === 'replace' || op.op === 'test') && !('value' in op))
      throw new StatusError(400, 'BadRequest', `JSON patch operation ${i} (${op.op}) has no "value"`);
    return op as unknown as Operation;
  });
}

/** The document with every operation applied in order; 422 Invalid for an operation that cannot apply. */
export function applyPatch(document: unknown, operations: readonly Operation[]): unknown {
  let doc = structuredClone(document);
  for (const [i, op] of operations.entries()) {
    try {
      doc = applyOne(doc, op);
    } catch (err) {
      if (err instanceof StatusError) throw err;
      throw invalid(`JSON patch operation ${i} (${op.op} ${op.path}): ${(err as Error).message}`);
    }
  }
  return doc;
}

function applyOne(doc: unknown, op: Operation): unknown {
  switch (op.op) {
    case 'add':
      return add(doc, op.path, structuredClone(op.value));
    case 'remove':
      return remove(doc, op.path).doc;
    case 'replace':
      return add(remove(doc, op.path).doc, op.path, structuredClone(op.value));
    case 'move': {
      if (op.path.startsWith(`${op.from!}/`)) throw new Error('cannot move a value into itself');
      const { doc: without, value } = remove(doc, op.from!);
      return add(without, op.path, value);
    }
    case 'copy':
      return add(doc, op.path, structuredClone(get(doc, op.from!)));
    case 'test':
      if (!deepEqual(get(doc, op.path), op.value)) throw new Error('test failed');
      return doc;
  }
}

/** RFC 6901: "" is the whole document; "/a/b~1c" is ["a", "b/c"]. */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new Error(`"${pointer}" is not a JSON pointer`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => {
      if (/~[^01]|~$/.test(t)) throw new Error(`"${pointer}" has an invalid escape`);
      return t.replaceAll('~1', '/').replaceAll('~0', '~');
    });
}

type Container = Record<string, unknown> | unknown[];

function parentOf(doc: unknown, tokens: string[]): Container {
  let current: unknown = doc;
  for (const token of tokens.slice(0, -1)) current = child(current, token);
  if (current === null || typeof current !== 'object')
    throw new Error('the parent is not an object or array');
  return current as Container;
}

function child(container: unknown, token: string): unknown {
  if (Array.isArray(container)) {
    const index = arrayIndex(token, container.length - 1);
    return container[index];
  }
  if (container === null || typeof container !== 'object' || !Object.hasOwn(container, token))
    throw new Error(`no value at "${token}"`);
  return (container as Record<string, unknown>)[token];
}

function arrayIndex(token: string, max: number): number {
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new Error(`"${token}" is not an array index`);
  const index = Number(token);
  if (index > max) throw new Error(`index ${index} is out of range`);
  return index;
}

function get(doc: unknown, pointer: string): unknown {
  let current = doc;
  for (const token of parsePointer(pointer)) current = child(current, token);
  return current;
}

function add(doc: unknown, pointer: string, value: unknown): unknown {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : arrayIndex(last, parent.length);
    parent.splice(index, 0, value);
  } else {
    // defineProperty: a key "__proto__" must become a member, not the object's prototype.
    Object.defineProperty(parent, last, { value, writable: true, enumerable: true, configurable: true });
  }
  return doc;
}

function remove(doc: unknown, pointer: string): { doc: unknown; value: unknown } {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return { doc: undefined, value: doc };
  const parent = parentOf(doc, tokens);
  const last = tokens[tokens.length - 1]!;
  const value = child(parent, last);
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length - 1), 1);
  else delete parent[last];
  return { doc, value };
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return (
    ka.length === kb.length &&
    ka.every(
      (k) =>
        Object.hasOwn(b, k) &&
        deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
    )
  );
}
