// Prometheus metrics endpoints of the operator and the proxy, read the way a scraper reads them.

/** The text exposition of a /metrics endpoint (host:port); fails when the endpoint is off or does not answer 200. */
export async function scrapeMetrics(address: string | undefined): Promise<string> {
  if (!address) throw new Error('metrics endpoint not enabled');
  const response = await fetch(`http://${address}/metrics`);
  if (response.status !== 200) throw new Error(`GET http://${address}/metrics: HTTP ${response.status}`);
  return response.text();
}

/** One sample of a text exposition whose labels include `labels`; 0 when absent. */
export function metricSample(exposition: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const [series, value] = line.split(/\s+/) as [string, string];
    const matches = Object.entries(labels).every(([k, v]) => series.includes(`${k}="${v}"`));
    if (matches) return Number(value);
  }
  return 0;
}
