// Alertmanager's matcher syntax, read in the browser for two things only: suggesting label
// names and values as one types, and turning a list into the JSON of a silence. Whether an
// alert matches is always the server's answer (`GET /api/v2/alerts?filter=`).

const OPS = ['=~', '!~', '!=', '='];

/** Splits `{a="b", c=~"d.*"}` or `a=b, c!~"x"` into matchers `{name, op, value}`; throws on a malformed one. */
export function parse(text) {
  let s = text.trim();
  if (s.startsWith('{')) {
    if (!s.endsWith('}')) throw new Error('missing closing }');
    s = s.slice(1, -1);
  }
  const out = [];
  let i = 0;
  const skip = () => { while (i < s.length && /[\s,]/.test(s[i])) i += 1; };
  skip();
  while (i < s.length) {
    const name = /^[^\s=!~,"{}]+/.exec(s.slice(i));
    if (!name) throw new Error(`expected a label name at "${s.slice(i)}"`);
    i += name[0].length;
    while (s[i] === ' ') i += 1;
    const op = OPS.find((o) => s.startsWith(o, i));
    if (!op) throw new Error(`expected =, !=, =~ or !~ after ${name[0]}`);
    i += op.length;
    while (s[i] === ' ') i += 1;
    let value = '';
    if (s[i] === '"') {
      i += 1;
      let closed = false;
      while (i < s.length) {
        const c = s[i];
        if (c === '\\' && i + 1 < s.length) {
          // Alertmanager's unescaping: \n, \" and \\; any other backslash is kept.
          const n = s[i + 1];
          value += n === 'n' ? '\n' : n === '"' || n === '\\' ? n : `\\${n}`;
          i += 2;
        } else if (c === '"') {
          i += 1;
          closed = true;
          break;
        } else {
          value += c;
          i += 1;
        }
      }
      if (!closed) throw new Error(`unclosed quote in the value of ${name[0]}`);
    } else {
      const bare = /^[^,}]*/.exec(s.slice(i))[0];
      value = bare.trim();
      i += bare.length;
    }
    out.push({ name: name[0], op, value });
    skip();
  }
  return out;
}

/** A matcher written back, its value quoted as Alertmanager prints it. */
export function format(m) {
  return `${m.name}${m.op}${JSON.stringify(m.value)}`;
}

/** Matchers selecting exactly this label set. */
export function ofLabels(set) {
  return Object.entries(set || {}).map(([name, value]) => ({ name, op: '=', value }));
}

/** A matcher as the silence API takes it. */
export function toSilence(m) {
  return { name: m.name, value: m.value, isRegex: m.op.includes('~'), isEqual: !m.op.startsWith('!') };
}

/** A silence's matcher in the syntax. */
export function fromSilence(m) {
  const equal = m.isEqual !== false;
  const op = m.isRegex ? (equal ? '=~' : '!~') : (equal ? '=' : '!=');
  return { name: m.name, op, value: m.value };
}

/**
 * Completions of the text being typed: the label names or values (from `known`, a map of name
 * to the set of values seen) that continue the last matcher, each as the whole new text.
 */
export function complete(text, known, limit = 20) {
  const cut = Math.max(text.lastIndexOf(','), text.lastIndexOf('{'));
  const head = text.slice(0, cut + 1);
  const tail = text.slice(cut + 1);
  const lead = head.endsWith(',') ? ' ' : '';
  const part = tail.trimStart();
  const m = /^([^\s=!~"]+)\s*(=~|!~|!=|=)\s*"?([^"]*)$/.exec(part);
  const out = [];
  if (m) {
    const [, name, op, value] = m;
    for (const v of known.get(name) || []) {
      if (v.startsWith(value)) out.push(`${head}${lead}${name}${op}${JSON.stringify(v)}`);
    }
  } else if (/^[^\s=!~"]*$/.test(part)) {
    for (const name of known.keys()) {
      if (name.startsWith(part)) out.push(`${head}${lead}${name}=`);
    }
  }
  return out.sort().slice(0, limit);
}

/** Label names and their values, from alerts. */
export function vocabulary(alerts) {
  const known = new Map();
  for (const a of alerts) {
    for (const [k, v] of Object.entries(a.labels || {})) {
      if (!known.has(k)) known.set(k, new Set());
      known.get(k).add(v);
    }
  }
  return known;
}
