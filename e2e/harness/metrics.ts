// Prometheus metrics endpoints of the operator and the proxy, read the way a scraper reads them.

/** The text exposition of a /metrics endpoint (host:port); fails when the endpoint is off or does not answer 200. */
export async function scrapeMetrics(address: string | undefined): Promise<string> {
  if (!address) throw new Error('metrics endpoint not enabled');
  const response = await fetch(`http://${address}/metrics`);
  if (response.status !== 200) throw new Error(`GET http://${address}/metrics: HTTP ${response.status}`);
  return response.text();
}

/** The samples of a text exposition named `name` whose labels include `labels`. */
function samples(exposition: string, name: string, labels: Record<string, string>): number[] {
  return exposition.split('\n').flatMap((line) => {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) return [];
    const [series, value] = line.split(/\s+/) as [string, string];
    return Object.entries(labels).every(([k, v]) => series.includes(`${k}="${v}"`)) ? [Number(value)] : [];
  });
}

/** One sample of a text exposition whose labels include `labels`; 0 when absent. */
export function metricSample(exposition: string, name: string, labels: Record<string, string> = {}): number {
  return samples(exposition, name, labels)[0] ?? 0;
}

/** The sum of every sample whose labels include `labels` (a counter over the labels left out); 0 when absent. */
export function metricSum(exposition: string, name: string, labels: Record<string, string> = {}): number {
  return samples(exposition, name, labels).reduce((a, b) => a + b, 0);
}
