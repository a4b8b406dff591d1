/**
 * Specializes a WGSL template: each named top-level `const NAME ... = value;`
 * gets a new value. The .wgsl files stay valid WGSL with their defaults, and
 * register-array sizes (which WGSL wants as const, not override) can vary.
 */
const cache = new Map<string, Map<string, string>>();

/** Wrappers specialize on every dispatch they build, so results are memoized. */
export function specialize(code: string, consts: Record<string, number | boolean>): string {
  const key = JSON.stringify(consts);
  let perCode = cache.get(code);
  if (!perCode) {
    perCode = new Map();
    cache.set(code, perCode);
  }
  let out = perCode.get(key);
  if (out === undefined) {
    out = substitute(code, consts);
    perCode.set(key, out);
  }
  return out;
}

function substitute(code: string, consts: Record<string, number | boolean>): string {
  let out = code;
  for (const [name, value] of Object.entries(consts)) {
    const re = new RegExp(`^(const\\s+${name}\\s*(?::\\s*(\\w+))?\\s*=\\s*)[^;]+;`, 'm');
    const m = re.exec(out);
    if (!m) throw new Error(`WGSL template has no top-level const ${name}`);
    const type = m[2];
    let literal: string;
    if (typeof value === 'boolean') literal = String(value);
    else if (type === 'u32') literal = `${Math.trunc(value)}u`;
    else if (type === 'i32') literal = `${Math.trunc(value)}i`;
    else if (type === 'f32') literal = `${Number.isInteger(value) ? value.toFixed(1) : value}f`;
    else literal = String(value);
    out = out.replace(re, `$1${literal};`);
  }
  return out;
}
