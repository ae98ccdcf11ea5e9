// Calling a Hashbeam node with AO's JS client (@permaweb/aoconnect, mainnet mode).
// Start a node (`npm start`), then: node examples/aoconnect-client.mjs   (HASHBEAM_URL to point elsewhere)
import { connect, createSigner } from '@permaweb/aoconnect'
import { decodeHttpsigMessage, verifyMessageSignatures } from 'hashbeam/devices/httpsig'
import { generateKeyPairSync } from 'node:crypto'

const URL = process.env.HASHBEAM_URL ?? 'http://127.0.0.1:8734'
// Any Arweave keyfile works (`hashbeam keygen --out me.json` makes one); here, a fresh key, made
// first: RSA-4096 generation blocks for seconds, and a kept-alive connection to the node could
// go idle past its timeout in the middle of the requests below.
const jwk = generateKeyPairSync('rsa', { modulusLength: 4096, publicExponent: 0x10001 }).privateKey.export({ format: 'jwk' })
const fields = (res) => { const out = []; res.headers.forEach((v, k) => out.push([k, v])); return out }

// 1. Unsigned: the node's address (plain text) and its info (an httpsig reply).
const anon = connect({ MODE: 'mainnet', URL })
console.log('address:', await (await anon.request({ path: '/~meta@1.0/info/address', method: 'GET' })).text())
const info = await anon.request({ path: '/~meta@1.0/info', method: 'GET' })
const infoMessage = decodeHttpsigMessage(fields(info), new Uint8Array(await info.arrayBuffer()))
console.log('operator:', infoMessage.operator)

// 2. Signed with an Arweave JWK: the node verifies the signature and keeps it as a commitment.
const ao = connect({ MODE: 'mainnet', URL, signer: createSigner(jwk) })
const verified = await ao.request({ path: '/~message@1.0/verify', method: 'POST', greeting: 'hello', count: 3, 'accept-codec': 'json@1.0' })
console.log('verify:', JSON.stringify(await verified.json()))

// 3. The same as an ANS-104 data item; routing hints are tags.
const item = await ao.request({ path: '/~message@1.0/greeting', 'signing-format': 'ans104', greeting: 'hi from a data item' })
console.log('ans104:', await item.text())

// 4. Ask the node to sign its reply, and check that signature: it covers the hashpath header,
//    and its tag, hashbeam-reply, says it is a reply (it never authorises anything).
const signedReply = await anon.request({ path: '/~meta@1.0/info', method: 'GET', 'accept-signature': 'sig=()' })
const [signature] = verifyMessageSignatures({ status: signedReply.status, fields: fields(signedReply) })
console.log('reply signed by', signature.committer, 'for hashpath', signedReply.headers.get('hashpath'), `(${signature.params.tag})`)
