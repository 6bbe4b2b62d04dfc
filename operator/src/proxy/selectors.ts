// Label and field selectors: narrowed for the control plane, so a list or watch can only ever select this cluster's
// (and this namespace's) claims, and evaluated locally for answers the proxy gives from its cache. Same grammar as
// kube-apiserver's (labels.Parse): equality, inequality, set-based and existence terms. Pure.
import { appNameLabel, appNamespaceLabel, labelValue, originSelector } from '../claims/identity.ts';
import type { Scope } from './translate.ts';

type Requirement =
  { key: string; op: 'in' | 'notin'; values: string[] } | { key: string; op: 'exists' | '!exists' };

/** Parses a label selector; throws with a message kube-apiserver's 400 would carry for malformed input. */
export function parseLabelSelector(selector: string | null | undefined): Requirement[] {
  const requirements: Requirement[] = [];
  for (const term of splitTerms(selector ?? '')) {
    let match = /^([^\s!=()]+)\s*(==|=|!=)\s*([^\s,()]*)$/.exec(term);
    if (match) {
      const [, key, op, value] = match as unknown as [string, string, string, string];
      requirements.push({ key, op: op === '!=' ? 'notin' : 'in', values: [value] });
      continue;
    }
    match = /^([^\s!=()]+)\s+(in|notin)\s+\(([^()]*)\)$/.exec(term);
    if (match) {
      const [, key, op, values] = match as unknown as [string, string, 'in' | 'notin', string];
      requirements.push({ key, op, values: values.split(',').map((v) => v.trim()) });
      continue;
    }
    match = /^(!?)([^\s!=()]+)$/.exec(term);
    if (match) {
      requirements.push({ key: match[2]!, op: match[1] ? '!exists' : 'exists' });
      continue;
    }
    throw new Error(`unable to parse requirement: "${term}"`);
  }
  return requirements;
}

export function matchesLabels(
  requirements: Requirement[],
  labels: Record<string, string> | undefined,
): boolean {
  return requirements.every((r) => {
    const value = labels?.[r.key];
    switch (r.op) {
      case 'exists':
        return value !== undefined;
      case '!exists':
        return value === undefined;
      case 'in':
        return value !== undefined && r.values.includes(value);
      case 'notin':
        return value === undefined || !r.values.includes(value);
    }
  });
}

/** Commas separate terms, except inside the parentheses of a set. */
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(current.trim());
      current = '';
    } else current += ch;
  }
  terms.push(current.trim());
  return terms.filter(Boolean);
}

/** What a list or watch asks of the control plane, and what the proxy filters itself. */
export interface NarrowedSelectors {
  labelSelector: string;
  fieldSelector?: string;
  /** An app-side name the control plane cannot select (too long for the app-name label): filtered by the proxy. */
  onlyName?: string;
}

/**
 * The label (and field) selectors sent up: always this cluster's origin label, and the namespace asked for (by path
 * or field selector), with the user's terms ANDed after them. A name is selected by the app-name label, which every
 * claim carries whatever its naming scheme (names too long for a label are filtered by the proxy). undefined when
 * nothing can match (the field selector names another namespace than the path).
 */
export function narrowSelectors(
  query: URLSearchParams,
  scope: Scope,
  namespace: string | undefined,
): NarrowedSelectors | undefined {
  let ns = namespace;
  const fields: string[] = [];
  const labels: string[] = [];
  let onlyName: string | undefined;
  for (const term of (query.get('fieldSelector') ?? '').split(',').filter(Boolean)) {
    const match = /^\s*metadata\.(name|namespace)\s*(==|=|!=)\s*(.*?)\s*$/.exec(term);
    if (match?.[1] === 'namespace' && match[2] !== '!=') {
      if (ns && ns !== match[3]) return undefined;
      ns = match[3];
    } else if (match?.[1] === 'namespace') {
      // "not in namespace X": the app namespace label, since every claim is stored in targetNamespace.
      labels.push(`${appNamespaceLabel}!=${match[3]}`);
    } else if (match) {
      const name = match[3]!;
      const equal = match[2] !== '!=';
      if (labelValue(name) === name && name.length <= 63)
        labels.push(`${appNameLabel}${equal ? '=' : '!='}${name}`);
      else if (equal) {
        if (onlyName !== undefined && onlyName !== name) return undefined;
        onlyName = name;
      }
      // "not this long name": every claim of the label-selected set but one; nothing to narrow up there.
    } else {
      fields.push(term);
    }
  }
  const user = query.get('labelSelector');
  const selector = [originSelector(scope.clusterID, ns), ...(user ? [user] : []), ...labels].join(',');
  return {
    labelSelector: selector,
    ...(fields.length ? { fieldSelector: fields.join(',') } : {}),
    ...(onlyName !== undefined ? { onlyName } : {}),
  };
}
