// The components every device builder receives: the resolver view takes what ctx.resolve takes.
import { describe, expect, it } from 'vitest'
import { idOf } from '../../core/id.js'
import { testComponents } from '../helpers/testing.js'

describe('components: the resolver view', () => {
  const { resolver } = testComponents()

  it('resolves a path, a message {path, ...keys} and a list of messages', async () => {
    expect((await resolver.resolve('/~message@1.0&a=1/a')).value).toBe('1')
    const long = 'y'.repeat(2000)
    expect((await resolver.resolve({ path: '/~message@1.0/a', a: long })).value).toBe(long)
    const chain = await resolver.resolve([{ device: 'message@1.0', a: '2' }, { path: 'a' }])
    expect(chain.value).toBe('2')
    expect(chain.hashpath).toBe(`${idOf({ device: 'message@1.0', a: '2' })}/a`)
  })

  it('refuses as the resolver does, as a rejection', async () => {
    await expect(resolver.resolve({ a: '1' })).rejects.toMatchObject({ code: 'empty-path' })
    await expect(resolver.resolve('/~nosuch@1.0/a')).rejects.toMatchObject({ code: 'unknown-device' })
  })
})
