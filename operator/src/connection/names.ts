// Labels and the finalizer the operator puts on what a connection owns (the objects' names, which the proxy needs
// too, are in catalog/names.ts).
import { createHash } from 'node:crypto';

export const connectionLabel = 'connect.ctp.dev/connection';
export const managedByLabels = {
  'app.kubernetes.io/managed-by': 'ctp-connector',
  'app.kubernetes.io/part-of': 'ctp-connector',
};
export const finalizer = 'connect.ctp.dev/finalizer';

export function hashOf(value: string, length = 16): string {
  return createHash('sha256').update(value).digest('hex').slice(0, length);
}
