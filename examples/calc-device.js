// calc@1.0 — a calculator device, the worked example of docs/writing-a-device.md.
//
//   hashbeam serve --device ./examples/calc-device.js
//   curl 'localhost:8734/~calc@1.0/add&a+integer=2&b+integer=3'      # → 5
//
// A device is a plain object built by a factory; the node calls the factory once at start with
// its components ({store, log, options}) and registers the device under its `name`.
import { UnprocessableError } from 'hashbeam/core'

/** Reads operand `name` from the request: a typed integer or float, never a string. */
function operand(req, name) {
  const value = req[name]
  if (typeof value !== 'number') {
    throw new UnprocessableError(`calc: "${name}" must be a number; send it typed, e.g. ${name}+integer=2`, { code: 'calc-operand' })
  }
  return value
}

/** One binary operation as a key handler: (base, req, ctx) => result. */
const binary = (fn) => (_base, req) => fn(operand(req, 'a'), operand(req, 'b'))

export default function calcDevice() {
  return {
    name: 'calc@1.0',
    info: { description: 'Arithmetic on typed numbers: add, sub, mul, div.' },
    keys: {
      add: binary((a, b) => a + b),
      sub: binary((a, b) => a - b),
      mul: binary((a, b) => a * b),
      div: binary((a, b) => {
        if (b === 0) throw new UnprocessableError('calc: division by zero', { code: 'division-by-zero' })
        return a / b
      }),
    },
  }
}
