// campanile's own `/metrics` (OpenMetrics text) read into samples, for the receivers and plugins
// page: queues, outcomes and plugin calls are counted there and nowhere else.

/** Samples `{name, labels, value}` of the exposition text. */
export function parse(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    let l;
    while ((l = re.exec(m[3] || '')) !== null) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

/** The sum of the samples named `name` whose labels include `where`. */
export function sum(samples, name, where = {}) {
  return samples
    .filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

/** The distinct values of label `label` among the samples named `name`. */
export function values(samples, name, label) {
  return [...new Set(samples.filter((s) => s.name === name && label in s.labels).map((s) => s.labels[label]))].sort();
}

/**
 * The q-quantile of a histogram (`name_bucket` samples with `le`), as Prometheus'
 * histogram_quantile estimates it: linear within the bucket. null without observations.
 */
export function quantile(samples, name, where, q) {
  const buckets = samples
    .filter((s) => s.name === `${name}_bucket` && Object.entries(where).every(([k, v]) => s.labels[k] === v))
    .map((s) => ({ le: s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), count: s.value }))
    .sort((a, b) => a.le - b.le);
  const total = buckets.length ? buckets[buckets.length - 1].count : 0;
  if (!total) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return prevLe;
      const inBucket = b.count - prevCount;
      return prevLe + (b.le - prevLe) * (inBucket ? (rank - prevCount) / inBucket : 0);
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}
