// Labels: a read-only, Map-like view over the contract's packed label sets (wit/router.wit,
// `label-set`: every name and value back to back, and the UTF-8 byte offset where each ends).
// It keeps the packed form and decodes it the first time it is read.

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });
const ASCII = /^[\x00-\x7f]*$/;
/** Passed to the constructor by Labels.packed: the pairs are already packed. */
const PACKED = Symbol("packed");

export class Labels {
  #text;
  #ends;
  #map;

  /** A label set from an object or [name, value] pairs; a later duplicate name wins. */
  constructor(pairs = [], text = undefined, ends = undefined) {
    if (pairs === PACKED) {
      // No array, no destructuring: the component's engine interprets this for every label
      // set of every group it is given.
      this.#text = text;
      this.#ends = ends;
      return;
    }
    const items = pairs instanceof Labels ? pairs.entries() : Symbol.iterator in Object(pairs) ? pairs : Object.entries(pairs);
    const merged = new Map();
    for (const [name, value] of items) merged.set(String(name), String(value));
    const ordered = [...merged].sort(([a], [b]) => compareBytes(a, b));
    this.#map = new Map(ordered);
    [this.#text, this.#ends] = pack(ordered);
  }

  /** The set the host sent as `text` and `ends`. */
  static packed(text, ends) {
    return new Labels(PACKED, text, ends);
  }

  get text() { return this.#text; }
  get ends() { return Array.from(this.#ends); }
  get size() { return this.#ends.length >> 1; }

  #decoded() {
    if (this.#map === undefined) this.#map = unpack(this.#text, this.#ends);
    return this.#map;
  }

  get(name) {
    if (this.#map !== undefined) return this.#map.get(name);
    // Read in place: compare names without cutting them out (a plugin reading one label of
    // each alert, as most do, decodes nothing else). ASCII only; other sets are decoded.
    const text = this.#text, ends = this.#ends;
    const count = ends.length - (ends.length & 1);
    if (count === 0 || ends[count - 1] !== text.length) return this.#decoded().get(name);
    let start = 0;
    for (let i = 0; i < count; i += 2) {
      const nameEnd = ends[i], valueEnd = ends[i + 1];
      if (!(start <= nameEnd && nameEnd <= valueEnd && valueEnd <= text.length)) return undefined;
      if (nameEnd - start === name.length && text.startsWith(name, start)) return text.slice(nameEnd, valueEnd);
      start = valueEnd;
    }
    return undefined;
  }
  has(name) { return this.get(name) !== undefined; }
  keys() { return this.#decoded().keys(); }
  values() { return this.#decoded().values(); }
  entries() { return this.#decoded().entries(); }
  [Symbol.iterator]() { return this.entries(); }
  toObject() { return Object.fromEntries(this.#decoded()); }
  toJSON() { return this.toObject(); }

  /** Whether both hold the same labels. */
  equals(other) {
    const them = other instanceof Labels ? other : new Labels(other);
    const mine = this.ends, theirs = them.ends;
    return this.#text === them.text && mine.length === theirs.length && mine.every((e, i) => e === theirs[i]);
  }

  /** The set without the labels for which `keep(name, value)` is false. */
  filtered(keep) {
    return new Labels([...this.entries()].filter(([n, v]) => keep(n, v)));
  }

  /** A copy with `name` set to `value`. */
  with(name, value) {
    return new Labels([...this.entries(), [name, value]]);
  }

  /** As Prometheus prints a label set: {alertname="Down", team="db"}. */
  toString() {
    return "{" + [...this.entries()].map(([n, v]) => `${n}="${v}"`).join(", ") + "}";
  }
}

function compareBytes(a, b) {
  if (ASCII.test(a) && ASCII.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  const x = encoder.encode(a), y = encoder.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

function pack(ordered) {
  let text = "";
  const ends = [];
  let offset = 0;
  for (const [name, value] of ordered) {
    for (const part of [name, value]) {
      text += part;
      offset += ASCII.test(part) ? part.length : encoder.encode(part).length;
      ends.push(offset);
    }
  }
  return [text, ends];
}

/** The pairs of a packed set, as a Map; a malformed one (never sent by the host) stops at the
 * first entry that does not fit the text, as the Rust SDK does. A plain loop, not a generator:
 * inside the component the engine interprets, and this runs for every label set read. */
function unpack(text, ends) {
  const map = new Map();
  const count = ends.length - (ends.length & 1);
  // UTF-8 is as long as UTF-16 only when every character is ASCII: then offsets are indices.
  const ascii = count === 0 || ends[count - 1] === text.length;
  const bytes = ascii ? null : encoder.encode(text);
  const size = ascii ? text.length : bytes.length;
  let start = 0;
  for (let i = 0; i < count; i += 2) {
    const nameEnd = ends[i], valueEnd = ends[i + 1];
    if (!(start <= nameEnd && nameEnd <= valueEnd && valueEnd <= size)) break;
    try {
      if (ascii) map.set(text.slice(start, nameEnd), text.slice(nameEnd, valueEnd));
      else map.set(decoder.decode(bytes.subarray(start, nameEnd)), decoder.decode(bytes.subarray(nameEnd, valueEnd)));
    } catch {
      break;
    }
    start = valueEnd;
  }
  return map;
}
