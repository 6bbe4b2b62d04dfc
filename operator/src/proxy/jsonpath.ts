// The JSONPath subset CRD printer columns use (`.spec.x`, `.status.conditions[?(@.type=="Ready")].status`,
// `.items[0]`), for Tables the proxy builds itself. Evaluates like kube-apiserver's table convertor: the first
// match is the cell; no match is an empty cell. Pure.

type Step =
  { field: string } | { index: number } | { filter: { path: string[]; value: string } } | { all: true };

export function compileJSONPath(expression: string): (obj: unknown) => unknown {
  const steps = parse(
    expression
      .trim()
      .replace(/^\{(.*)\}$/, '$1')
      .replace(/^\$/, ''),
  );
  return (obj) => evaluate(steps, [obj])[0];
}

function parse(path: string): Step[] {
  const steps: Step[] = [];
  let rest = path;
  while (rest.length > 0) {
    let match = /^\.([A-Za-z0-9_\-/]+)/.exec(rest);
    if (match) {
      steps.push({ field: match[1]! });
      rest = rest.slice(match[0].length);
      continue;
    }
    match = /^\[(\d+)\]/.exec(rest);
    if (match) {
      steps.push({ index: Number(match[1]) });
      rest = rest.slice(match[0].length);
      continue;
    }
    match = /^\[\*\]/.exec(rest);
    if (match) {
      steps.push({ all: true });
      rest = rest.slice(match[0].length);
      continue;
    }
    match = /^\[\?\(@((?:\.[A-Za-z0-9_\-/]+)+)\s*==\s*(?:"([^"]*)"|'([^']*)')\)\]/.exec(rest);
    if (match) {
      const value = match[2] ?? match[3] ?? '';
      steps.push({ filter: { path: match[1]!.split('.').filter(Boolean), value } });
      rest = rest.slice(match[0].length);
      continue;
    }
    match = /^\['([^']+)'\]|^\["([^"]+)"\]/.exec(rest);
    if (match) {
      steps.push({ field: (match[1] ?? match[2])! });
      rest = rest.slice(match[0].length);
      continue;
    }
    throw new Error(`unsupported JSONPath at "${rest}"`);
  }
  return steps;
}

function evaluate(steps: Step[], values: unknown[]): unknown[] {
  let current = values;
  for (const step of steps) {
    const next: unknown[] = [];
    for (const value of current) {
      if ('field' in step) {
        if (value && typeof value === 'object' && !Array.isArray(value) && step.field in value)
          next.push((value as Record<string, unknown>)[step.field]);
      } else if ('index' in step) {
        if (Array.isArray(value) && step.index < value.length) next.push(value[step.index]);
      } else if ('all' in step) {
        if (Array.isArray(value)) next.push(...(value as unknown[]));
      } else if (Array.isArray(value)) {
        for (const item of value as unknown[]) {
          const [found] = evaluate(
            step.filter.path.map((field) => ({ field })),
            [item],
          );
          if (scalarText(found) === step.filter.value) next.push(item);
        }
      }
    }
    current = next;
  }
  return current;
}

function scalarText(value: unknown): string | undefined {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? String(value)
    : undefined;
}
