import { describe } from 'vitest'
import { messageDevice } from '../../devices/message/index.js'
import { metaDevice } from '../../devices/meta/index.js'
import { replayDevice } from '../../devices/replay/index.js'
import { memoryStore } from '../../devices/store/backends/memory.js'
import { deviceCompliance } from '../helpers/device-suite.js'

describe('message@1.0', () => deviceCompliance({ make: messageDevice, samplePath: '/~message@1.0&a=1/set&b+integer=2' }))
describe('meta@1.0', () => deviceCompliance({
  make: () => metaDevice({ publicInfo: () => ({ address: 'x'.repeat(43), port: 8734 }), build: { name: 'hashbeam' } }),
  samplePath: '/~meta@1.0/info',
}))
describe('replay@1.0', () => deviceCompliance({
  make: () => replayDevice({ store: memoryStore() }),
  samplePath: `/~replay@1.0/verify&hashpath=${'A'.repeat(43)}%2Fkey`,
}))
