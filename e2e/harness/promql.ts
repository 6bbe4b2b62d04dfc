// What a PromQL expression uses, read with Prometheus' own grammar (@prometheus-io/lezer-promql, the parser of the
// Prometheus UI): syntax errors, the metric and label names of each selector, and the labels it groups or matches on.
import { parser } from '@prometheus-io/lezer-promql';

type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

export interface Selector {
  metric: string | undefined;
  labels: string[];
}

export interface PromQLUse {
  errors: string[];
  selectors: Selector[];
  /** Labels named in by/without/on/ignoring clauses. */
  grouping: string[];
}

/** Grafana's interval variables, replaced by a duration so the expression parses as Prometheus would see it. */
export function withoutGrafanaIntervals(expr: string): string {
  return expr.replace(/\$__(rate_interval|interval|range)\b/g, '5m');
}

export function promqlUse(expr: string): PromQLUse {
  const tree = parser.parse(expr);
  const use: PromQLUse = { errors: [], selectors: [], grouping: [] };
  const text = (n: SyntaxNode | null) => (n ? expr.slice(n.from, n.to) : undefined);
  tree.iterate({
    enter(ref) {
      const node = ref.node;
      if (node.type.isError)
        use.errors.push(`syntax error at ${node.from}: ${JSON.stringify(expr.slice(node.from))}`);
      if (node.name === 'VectorSelector') {
        use.selectors.push({
          metric: text(node.getChild('Identifier')),
          labels:
            node
              .getChild('LabelMatchers')
              ?.getChildren('UnquotedLabelMatcher')
              .map((m) => text(m.getChild('LabelName')) ?? '') ?? [],
        });
      }
      if (node.name === 'GroupingLabels') {
        use.grouping.push(...node.getChildren('LabelName').map((l) => text(l) ?? ''));
      }
    },
  });
  return use;
}
