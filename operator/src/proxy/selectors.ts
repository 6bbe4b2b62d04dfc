// Label and field selectors evaluated locally, for answers the proxy gives from its cache while the control plane is
// away. Same grammar as kube-apiserver's (labels.Parse): equality, inequality, set-based and existence terms. Pure.

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
