// Label and field selectors: narrowed for the control plane, so a list or watch can only ever select this cluster's
// (and this namespace's) claims, and evaluated locally for answers the proxy gives from its cache. Same grammar as
// kube-apiserver's (labels.Parse): equality, inequality, set-based and existence terms. Pure.
import { appNameLabel, controlPlaneName, originSelector } from '../claims/identity.ts';
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

/**
 * The label (and field) selectors sent up: always this cluster's origin label, and the namespace asked for (by path
 * or field selector) with the user's terms ANDed after them. undefined when nothing can match (the field selector
 * names another namespace than the path).
 */
export function narrowSelectors(
  query: URLSearchParams,
  scope: Scope,
  namespace: string | undefined,
): { labelSelector: string; fieldSelector?: string } | undefined {
  let ns = namespace;
  const fields: string[] = [];
  const labels: string[] = [];
  for (const term of (query.get('fieldSelector') ?? '').split(',').filter(Boolean)) {
    const match = /^\s*metadata\.(name|namespace)\s*(==|=|!=)\s*(.*?)\s*$/.exec(term);
    if (match?.[1] === 'namespace' && match[2] !== '!=') {
      if (ns && ns !== match[3]) return undefined;
      ns = match[3];
    } else if (match?.[1] === 'namespace') {
      // "not in namespace X": the app namespace label, since every claim is stored in targetNamespace.
      labels.push(`connect.ctp.dev/app-namespace!=${match[3]}`);
    } else if (match) {
      fields.push(`${match[2] === '!=' ? '!' : ''}name:${match[3]}`);
    } else {
      fields.push(term);
    }
  }
  const fieldTerms: string[] = [];
  for (const f of fields) {
    const name = /^(!?)name:(.*)$/.exec(f);
    if (!name) fieldTerms.push(f);
    else if (!name[1] && ns)
      fieldTerms.push(`metadata.name=${controlPlaneName(name[2]!, ns, scope.clusterID)}`);
    // A name across namespaces (or excluded): filter on the app-name label instead.
    else labels.push(`${appNameLabel}${name[1] ? '!=' : '='}${name[2]}`);
  }
  const user = query.get('labelSelector');
  const selector = [originSelector(scope.clusterID, ns), ...(user ? [user] : []), ...labels].join(',');
  return { labelSelector: selector, ...(fieldTerms.length ? { fieldSelector: fieldTerms.join(',') } : {}) };
}
