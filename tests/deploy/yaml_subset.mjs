// A reader for the YAML the deploy/ manifests are written in (no npm packages):
// documents separated by `---`, block mappings and sequences (a sequence may sit at its
// key's indentation), `- key: value` items, flow collections `[a, b]` / `{k: v}`,
// single- and double-quoted scalars, plain scalars (int, float, true/false, null, ~),
// literal block scalars `|` / `|-`, and comments. Anything outside that subset
// (anchors, tags, folded scalars, multi-line plain scalars, complex keys) is an error
// with the line number, so a manifest cannot silently drift out of what the tests read.

export class YamlSubsetError extends Error {}

export function parseDocuments(text, source = '<yaml>') {
  const docs = [];
  let current = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    if (/^---\s*(#.*)?$/.test(raw)) {
      docs.push(current);
      current = [];
    } else {
      current.push({ raw: raw.replace(/\r$/, ''), no: i + 1 });
    }
  });
  docs.push(current);
  return docs.map((docLines) => new Reader(docLines, source).document()).filter((d) => d !== undefined);
}

export function parseOne(text, source) {
  const docs = parseDocuments(text, source);
  if (docs.length !== 1) throw new YamlSubsetError(`${source}: expected one YAML document, found ${docs.length}`);
  return docs[0];
}

// Removes a trailing comment: '#' at the start or after whitespace, outside quotes.
function stripComment(s) {
  let quote = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === quote) {
        if (quote === "'" && s[i + 1] === "'") { i++; continue; }
        quote = null;
      } else if (c === '\\' && quote === '"') {
        i++;
      }
    } else if (c === '"' || c === "'") {
      if (i === 0 || /[\s\[{,:-]/.test(s[i - 1])) quote = c;
    } else if (c === '#' && (i === 0 || /\s/.test(s[i - 1]))) {
      return s.slice(0, i);
    }
  }
  return s;
}

const MAP_ENTRY = /^([A-Za-z0-9_.\/$-][^:]*?|"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'):(?:\s+(.*))?$/;

class Reader {
  constructor(lines, source) {
    this.source = source;
    this.lines = lines.map((l) => {
      const body = stripComment(l.raw).replace(/\s+$/, '');
      const indent = body.length - body.trimStart().length;
      if (/^\s*\t/.test(l.raw)) this.fail(l.no, 'tab in indentation');
      return { ...l, indent, text: body.trimStart() };
    });
    this.pos = 0;
  }

  fail(no, message) { throw new YamlSubsetError(`${this.source}:${no}: ${message}`); }

  // Next line with content (skips blank and comment-only lines), or null.
  peek() {
    while (this.pos < this.lines.length && this.lines[this.pos].text === '') this.pos++;
    return this.pos < this.lines.length ? this.lines[this.pos] : null;
  }

  document() {
    const first = this.peek();
    if (!first) return undefined;
    const value = this.block(first.indent);
    const rest = this.peek();
    if (rest) this.fail(rest.no, `unexpected content at indentation ${rest.indent}`);
    return value;
  }

  block(indent) {
    const line = this.peek();
    if (line.indent !== indent) this.fail(line.no, `expected indentation ${indent}, got ${line.indent}`);
    return line.text === '-' || line.text.startsWith('- ') ? this.sequence(indent) : this.mapping(indent);
  }

  mapping(indent) {
    const out = {};
    for (let line = this.peek(); line && line.indent === indent && !(line.text === '-' || line.text.startsWith('- ')); line = this.peek()) {
      const m = MAP_ENTRY.exec(line.text);
      if (!m) this.fail(line.no, `expected "key: value", got ${JSON.stringify(line.text)}`);
      const key = this.scalar(m[1], line.no, true);
      if (Object.hasOwn(out, key)) this.fail(line.no, `duplicate key ${key}`);
      const rest = m[2] ?? '';
      this.pos++;
      if (rest === '') {
        const next = this.peek();
        if (next && next.indent > indent) out[key] = this.block(next.indent);
        else if (next && next.indent === indent && (next.text === '-' || next.text.startsWith('- '))) out[key] = this.sequence(indent);
        else out[key] = null;
      } else if (/^[|>]/.test(rest)) {
        out[key] = this.blockScalar(rest, indent, line.no);
      } else {
        out[key] = this.inline(rest, line.no);
      }
    }
    const line = this.peek();
    if (line && line.indent > indent) this.fail(line.no, `unexpected indentation ${line.indent} (mapping at ${indent})`);
    return out;
  }

  sequence(indent) {
    const out = [];
    for (let line = this.peek(); line && line.indent === indent && (line.text === '-' || line.text.startsWith('- ')); line = this.peek()) {
      const item = line.text === '-' ? '' : line.text.slice(2).trimStart();
      if (item === '') {
        this.pos++;
        const next = this.peek();
        out.push(next && next.indent > indent ? this.block(next.indent) : null);
      } else if (MAP_ENTRY.test(item) && !/^["'\[{]/.test(item)) {
        // "- key: value": a mapping whose keys line up with `key`.
        const column = indent + (line.text.length - item.length);
        this.lines[this.pos] = { ...line, indent: column, text: item };
        out.push(this.mapping(column));
      } else {
        this.pos++;
        out.push(this.inline(item, line.no));
      }
    }
    return out;
  }

  blockScalar(header, indent, no) {
    if (header !== '|' && header !== '|-') this.fail(no, `only literal block scalars "|" and "|-" are supported, got ${header}`);
    const body = [];
    let blockIndent = null;
    while (this.pos < this.lines.length) {
      const l = this.lines[this.pos];
      if (l.raw.trim() === '') { body.push(''); this.pos++; continue; }
      const ind = l.raw.length - l.raw.trimStart().length;
      if (ind <= indent) break;
      if (blockIndent === null) blockIndent = ind;
      if (ind < blockIndent) this.fail(l.no, 'block scalar line indented less than its first line');
      body.push(l.raw.slice(blockIndent));
      this.pos++;
    }
    while (body.length && body[body.length - 1] === '') body.pop();
    const text = body.join('\n');
    return header === '|' && text !== '' ? text + '\n' : text;
  }

  inline(text, no) {
    if (text.startsWith('[') || text.startsWith('{')) {
      const flow = new Flow(text, (m) => this.fail(no, m), (s, key) => this.scalar(s, no, key));
      const value = flow.value();
      flow.skipSpace();
      if (flow.i !== text.length) this.fail(no, `junk after flow collection: ${text.slice(flow.i)}`);
      return value;
    }
    if (/^[&*!]/.test(text)) this.fail(no, 'anchors, aliases and tags are not supported');
    return this.scalar(text, no, false);
  }

  scalar(s, no, isKey) {
    if (s.startsWith('"')) {
      if (!/^"(?:[^"\\]|\\.)*"$/.test(s)) this.fail(no, `bad double-quoted scalar ${s}`);
      return JSON.parse(s);
    }
    if (s.startsWith("'")) {
      if (!/^'(?:[^']|'')*'$/.test(s)) this.fail(no, `bad single-quoted scalar ${s}`);
      return s.slice(1, -1).replace(/''/g, "'");
    }
    if (isKey) return s;
    if (s === 'true') return true;
    if (s === 'false') return false;
    if (s === 'null' || s === '~') return null;
    if (/^-?(0|[1-9][0-9]*)$/.test(s)) return Number(s);
    if (/^-?[0-9]+\.[0-9]+$/.test(s)) return Number(s);
    return s;
  }
}

// Flow collections on one line: [a, "b", {k: v}], {k: [1, 2]}.
class Flow {
  constructor(text, fail, scalar) { this.s = text; this.i = 0; this.fail = fail; this.scalar = scalar; }
  skipSpace() { while (this.i < this.s.length && this.s[this.i] === ' ') this.i++; }
  value() {
    this.skipSpace();
    const c = this.s[this.i];
    if (c === '[') return this.list();
    if (c === '{') return this.map();
    return this.scalar(this.token(',]}'), false);
  }
  token(stops) {
    this.skipSpace();
    const start = this.i;
    const q = this.s[this.i];
    if (q === '"' || q === "'") {
      this.i++;
      while (this.i < this.s.length) {
        if (q === '"' && this.s[this.i] === '\\') { this.i += 2; continue; }
        if (this.s[this.i] === q) {
          if (q === "'" && this.s[this.i + 1] === "'") { this.i += 2; continue; }
          break;
        }
        this.i++;
      }
      if (this.i >= this.s.length) this.fail('unterminated quoted scalar');
      this.i++;
      return this.s.slice(start, this.i);
    }
    while (this.i < this.s.length && !stops.includes(this.s[this.i])) {
      if (stops.includes(':') && this.s[this.i] === ':' ) break;
      this.i++;
    }
    const tok = this.s.slice(start, this.i).trim();
    if (tok === '') this.fail(`empty value in flow collection at column ${start + 1}`);
    return tok;
  }
  list() {
    this.i++;
    const out = [];
    this.skipSpace();
    if (this.s[this.i] === ']') { this.i++; return out; }
    for (;;) {
      out.push(this.value());
      this.skipSpace();
      const c = this.s[this.i++];
      if (c === ']') return out;
      if (c !== ',') this.fail(`expected "," or "]" in flow sequence, got ${JSON.stringify(c ?? 'end of line')}`);
    }
  }
  map() {
    this.i++;
    const out = {};
    this.skipSpace();
    if (this.s[this.i] === '}') { this.i++; return out; }
    for (;;) {
      const key = this.scalar(this.token(':,}'), true);
      this.skipSpace();
      if (this.s[this.i++] !== ':') this.fail(`expected ":" after key ${key} in flow mapping`);
      out[key] = this.value();
      this.skipSpace();
      const c = this.s[this.i++];
      if (c === '}') return out;
      if (c !== ',') this.fail(`expected "," or "}" in flow mapping, got ${JSON.stringify(c ?? 'end of line')}`);
    }
  }
}
