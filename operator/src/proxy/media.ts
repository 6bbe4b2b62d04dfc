// Media types: what a client may send and what it may ask for. Toward the control plane the proxy speaks JSON only
// (it must read every answer to translate it), so a client asking for YAML gets YAML rendered by the proxy, and one
// that accepts nothing the proxy can produce (protobuf or CBOR only) gets 406 — never an answer it cannot parse, and
// never an upstream answer the proxy cannot parse. Pure.
import type { Verb } from './requestinfo.ts';
import { StatusError, type MediaType } from './respond.ts';

export interface Negotiated {
  /** How the proxy writes its answer. */
  media: MediaType;
  /** The Accept header sent up: the client's acceptable entries as application/json, parameters (as=Table) kept. */
  upstreamAccept: string;
}

interface AcceptEntry {
  type: string;
  params: string[];
}

function entries(accept: string | undefined): AcceptEntry[] {
  return (accept || 'application/json')
    .split(',')
    .map((entry) => {
      const [type = '', ...params] = entry.split(';').map((p) => p.trim());
      return { type: type.toLowerCase(), params: params.filter((p) => p && !/^q=/i.test(p)) };
    })
    .filter((e) => e.type !== '');
}

const jsonTypes = new Set(['application/json', '*/*', 'application/*']);

/** Throws 406 when the client accepts nothing the proxy can write (watches: JSON only, as kube-apiserver streams). */
export function negotiate(accept: string | undefined, streaming: boolean): Negotiated {
  const usable = entries(accept).filter(
    (e) => jsonTypes.has(e.type) || (!streaming && e.type === 'application/yaml'),
  );
  if (usable.length === 0)
    throw new StatusError(
      406,
      'NotAcceptable',
      `only the following media types are accepted: application/json${streaming ? '' : ', application/yaml'}`,
    );
  const upstreamAccept = usable.map((e) => ['application/json', ...e.params].join(';')).join(',');
  return {
    media: usable[0]!.type === 'application/yaml' ? 'application/yaml' : 'application/json',
    upstreamAccept,
  };
}

export type BodyType =
  | 'application/json'
  | 'application/yaml'
  | 'application/json-patch+json'
  | 'application/merge-patch+json'
  | 'application/apply-patch+yaml';

const patchTypes: readonly BodyType[] = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/apply-patch+yaml',
];

/** The body's media type for this verb, or 415 as kube-apiserver words it. No Content-Type means JSON. */
export function bodyType(verb: Verb, contentType: string | undefined): BodyType {
  const type = (contentType ?? 'application/json').split(';')[0]!.trim().toLowerCase() || 'application/json';
  const accepted: readonly string[] =
    verb === 'patch' ? patchTypes : ['application/json', 'application/yaml'];
  if (!accepted.includes(type))
    throw new StatusError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
    );
  return type as BodyType;
}
