// managedFields in caches: dropped where nothing reads them, shared where a cache answers reads with them. Every
// object a manager wrote the same way carries the same fieldsV1 tree — for a claim, about as large as the rest of it
// in memory (1.7 of 2.9 KiB for the benchmark's claim, measured with V8's heap). Informers drop them by default, as
// client-go's TransformStripManagedFields does; the claim cache, which answers reads, keeps one frozen copy of each
// distinct tree instead: frozen, so that code changing one object's fields by mistake throws instead of changing
// every object that shares them.

const metadataOf = (obj: unknown) =>
  (obj as { metadata?: { managedFields?: unknown } | null } | null | undefined)?.metadata;

/** The object without metadata.managedFields (changed in place: it is fresh from a list or watch). */
export function withoutManagedFields<T>(obj: T): T {
  const metadata = metadataOf(obj);
  if (metadata && typeof metadata === 'object') delete metadata.managedFields;
  return obj;
}

export interface FieldSetSharing {
  /** The object with each managedFields entry's fieldsV1 replaced by the shared equal one (entries are copied). */
  share<T>(obj: T): T;
  /** Distinct field sets held. */
  size(): number;
}

/** Bounded: beyond `atMost` distinct sets (a manager writing ever new shapes) the table starts over. */
export function fieldSetSharing(atMost = 4096): FieldSetSharing {
  const shared = new Map<string, unknown>();
  const sharedOf = (fields: unknown): unknown => {
    if (!fields || typeof fields !== 'object') return fields;
    const key = JSON.stringify(fields);
    const found = shared.get(key);
    if (found !== undefined) return found;
    if (shared.size >= atMost) shared.clear();
    const frozen = deepFreeze(fields);
    shared.set(key, frozen);
    return frozen;
  };
  return {
    share(obj) {
      const metadata = metadataOf(obj);
      const entries = metadata?.managedFields;
      if (!Array.isArray(entries)) return obj;
      metadata!.managedFields = entries.map((entry: unknown) =>
        entry && typeof entry === 'object' && 'fieldsV1' in entry
          ? { ...entry, fieldsV1: sharedOf(entry.fieldsV1) }
          : entry,
      );
      return obj;
    },
    size: () => shared.size,
  };
}

/** Freezes an object and everything it holds. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
