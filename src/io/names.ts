// Lists of names in messages, and repeated names: runtime-neutral (no Node APIs), so the matching of
// observations (match.ts) and the normalisation (normalize.ts) also run in browsers.

/** Up to `n` items as a comma-separated list, for messages. */
export function firstFew(items: readonly string[], n = 3): string {
  return items.slice(0, n).join(", ") + (items.length > n ? ", ..." : "");
}

/** Positions of each repeated value (first occurrence and the repeats), in order of first repeat. */
export function duplicates(values: readonly string[]): Map<string, number[]> {
  const first = new Map<string, number>();
  const dups = new Map<string, number[]>();
  values.forEach((v, i) => {
    const f = first.get(v);
    if (f === undefined) first.set(v, i);
    else if (dups.has(v)) dups.get(v)!.push(i);
    else dups.set(v, [f, i]);
  });
  return dups;
}

/**
 * R's make.unique(names): a repeated name gets ".1", ".2", ... in order of occurrence, skipping
 * any suffixed name already present, so the result is unique.
 */
export function makeUnique(names: readonly string[]): string[] {
  const used = new Set(names);
  const nextSuffix = new Map<string, number>();
  const seen = new Set<string>();
  return names.map((name) => {
    if (!seen.has(name)) {
      seen.add(name);
      return name;
    }
    let k = nextSuffix.get(name) ?? 1;
    while (used.has(`${name}.${k}`)) k++;
    const unique = `${name}.${k}`;
    nextSuffix.set(name, k + 1);
    used.add(unique);
    return unique;
  });
}
