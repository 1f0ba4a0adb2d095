/**
 * Merges the Prometheus texts of several `SluiceQueue` objects into one exposition for the
 * Worker's `/metrics`: each family once (its `# HELP` / `# TYPE` from the first text that has
 * it), then all its samples. Samples are labelled by queue, so they do not clash; the few
 * object-wide series without a queue label (WebSocket connections, memory budget) appear in every
 * object's text and are summed.
 *
 * @example
 * ```ts
 * mergePrometheus([
 *   '# HELP sluice_acked_total Leases acked\n# TYPE sluice_acked_total counter\nsluice_acked_total{queue="a",role="dispatcher"} 1\n',
 *   '# HELP sluice_acked_total Leases acked\n# TYPE sluice_acked_total counter\nsluice_acked_total{queue="b",role="dispatcher"} 2\n',
 * ]); // one HELP, one TYPE, both samples
 * ```
 */

interface FamilyText {
  readonly help: string[];
  readonly samples: Map<string, number>;
  /** The text whose HELP/TYPE lines it keeps. */
  readonly owner: number;
}

/**
 * One Prometheus text exposition from several (see the module doc).
 *
 * @example
 * ```ts
 * const text = mergePrometheus(await Promise.all(stubs.map((s) => s.fetch(url).then((r) => r.text()))));
 * ```
 */
export function mergePrometheus(texts: readonly string[]): string {
  const families = new Map<string, FamilyText>();
  texts.forEach((text, index) => {
    const family = (name: string): FamilyText => {
      let found = families.get(name);
      if (found === undefined) families.set(name, (found = { help: [], samples: new Map(), owner: index }));
      return found;
    };
    let current: FamilyText | undefined;
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      const meta = /^# (HELP|TYPE) (\S+)/.exec(line);
      if (meta !== null) {
        current = family(meta[2]!);
        if (current.owner === index) current.help.push(line);
        continue;
      }
      if (line.startsWith("#")) continue;
      const space = line.lastIndexOf(" ");
      const series = line.slice(0, space);
      const value = Number(line.slice(space + 1));
      // A sample belongs to the family announced last (histogram _bucket/_sum/_count included).
      const into = current ?? family(series.replace(/\{.*$/, ""));
      into.samples.set(series, (into.samples.get(series) ?? 0) + value);
    }
  });
  const lines: string[] = [];
  for (const { help, samples } of families.values()) {
    lines.push(...help);
    for (const [series, value] of samples) lines.push(`${series} ${formatValue(value)}`);
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}
