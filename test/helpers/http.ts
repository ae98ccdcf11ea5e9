/** Small HTTP helpers for tests that read replies field by field. */

/** The header fields of a response as [name, value] pairs (lib.dom has no Headers iterator here). */
export function headerFields(headers: Headers): Array<[string, string]> {
  const out: Array<[string, string]> = []
  headers.forEach((value, name) => out.push([name, value]))
  return out
}
