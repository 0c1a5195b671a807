'use strict'
// strongroom (Node): behaviour, interop with crypto.createHmac, bad input, both module systems.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const { KeyRing, ChunkMap, Manifest, generateKey, loadKeyFile, parseSignatureParts } = require('../strongroom.js')

const KEY = Buffer.from(Array.from({ length: 40 }, (_, i) => i))

function ring() {
  const r = new KeyRing()
  r.addSigningKey('k1', KEY)
  return r
}

function tmpdir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'strongroom-node-'))
}

test('sign and verify buffers', () => {
  const r = ring()
  const sig = r.sign(Buffer.from('hello'))
  assert.match(sig, /^sr1:hmac-sha256:k1:/)
  r.verify(Buffer.from('hello'), sig)
  assert.throws(() => r.verify(Buffer.from('hellO'), sig), { code: 'ERR_STRONGROOM_MISMATCH' })
})

test('the MAC is the standard HMAC (crypto.createHmac)', async () => {
  const dir = tmpdir()
  const file = path.join(dir, 'f.bin')
  const data = crypto.randomBytes(3 * 1024 * 1024 + 5)
  fs.writeFileSync(file, data)
  const sig = await ring().signFile(file)
  assert.equal(parseSignatureParts(sig).mac, crypto.createHmac('sha256', KEY).update(data).digest('hex'))
})

test('streams sign through signer() like the whole file', async () => {
  const dir = tmpdir()
  const file = path.join(dir, 'f.bin')
  fs.writeFileSync(file, crypto.randomBytes(2_000_000))
  const r = ring()
  const signer = r.signer()
  for await (const chunk of fs.createReadStream(file)) signer.update(chunk)
  const sig = signer.finish()
  assert.equal(sig, await r.signFile(file))
  assert.throws(() => signer.finish(), { code: 'ERR_STRONGROOM_ARGUMENT' })
  const verifier = r.verifier(sig)
  for await (const chunk of fs.createReadStream(file, { start: 1 })) verifier.update(chunk)
  assert.throws(() => verifier.finish(), { code: 'ERR_STRONGROOM_MISMATCH' })
})

test('rotation keeps old signatures verifiable until the key is removed', () => {
  const r = ring()
  const old = r.sign(Buffer.from('doc'))
  r.addSigningKey('k2', generateKey())
  assert.equal(r.signingKid, 'k2')
  assert.deepEqual(r.kids, ['k1', 'k2'])
  r.verify(Buffer.from('doc'), old)
  assert.equal(r.remove('k1'), true)
  assert.throws(() => r.verify(Buffer.from('doc'), old), { code: 'ERR_STRONGROOM_KEY' })
})

test('bad input gets clear errors, never a crash', async () => {
  const r = ring()
  assert.throws(() => r.addSigningKey('short', Buffer.alloc(31)), { code: 'ERR_STRONGROOM_KEY', message: /too short/ })
  assert.throws(() => r.addSigningKey('bad kid', KEY), { code: 'ERR_STRONGROOM_KEY' })
  assert.throws(() => new KeyRing('md5'), { code: 'ERR_STRONGROOM_FORMAT', message: /unknown algorithm/ })
  assert.throws(() => r.verify(Buffer.from('x'), 'garbage'), { code: 'ERR_STRONGROOM_FORMAT' })
  assert.throws(() => r.sign('not a buffer'))
  assert.throws(() => r.sign())
  await assert.rejects(r.signFile('/definitely/missing'), { code: 'ERR_STRONGROOM_IO', message: /missing/ })
  assert.throws(() => new KeyRing().sign(Buffer.from('x')), { code: 'ERR_STRONGROOM_KEY' })
  assert.throws(() => ChunkMap.fromBytes(Buffer.from('garbage')), { code: 'ERR_STRONGROOM_FORMAT' })
})

test('chunk maps name tampered chunks and verify ranges', async () => {
  const dir = tmpdir()
  const file = path.join(dir, 'f.bin')
  const data = crypto.randomBytes(40 * 4096)
  fs.writeFileSync(file, data)
  const r = ring()
  let map = await r.chunkMap(file, 4096)
  assert.equal(map.chunkCount, 40)
  assert.ok(map instanceof ChunkMap)
  map = ChunkMap.fromBytes(map.toBytes())
  assert.equal(ChunkMap.fromJson(map.toJson()).fileLen, data.length)
  data[7 * 4096] ^= 1
  fs.writeFileSync(file, data)
  await assert.rejects(r.verifyChunks(map, file), (err) => {
    assert.equal(err.code, 'ERR_STRONGROOM_MISMATCH')
    assert.deepEqual(err.chunks, [7])
    return true
  })
  await r.verifyRange(map, file, 0, 7 * 4096)
  await assert.rejects(r.verifyRange(map, file, 0, 7 * 4096 + 1), { code: 'ERR_STRONGROOM_MISMATCH' })
  assert.throws(() => r.verifyRange(map, file, 10, 5), { code: 'ERR_STRONGROOM_ARGUMENT' })
})

test('manifests report what changed', async () => {
  const dir = tmpdir()
  fs.writeFileSync(path.join(dir, 'a.txt'), 'alpha')
  fs.mkdirSync(path.join(dir, 'sub'))
  fs.writeFileSync(path.join(dir, 'sub', 'b.txt'), 'bravo')
  const r = ring()
  const manifest = Manifest.fromJson((await r.createManifest(dir)).toJson())
  assert.equal(manifest.entries.length, 3)
  assert.deepEqual(manifest.entries[0], {
    path: 'a.txt',
    type: 'file',
    size: 5,
    digest: crypto.createHash('sha256').update('alpha').digest('hex'),
  })
  assert.equal((await r.verifyManifest(manifest, dir)).ok, true)
  fs.writeFileSync(path.join(dir, 'c.txt'), 'new')
  fs.writeFileSync(path.join(dir, 'a.txt'), 'ALPHA')
  const report = await r.verifyManifest(manifest, dir)
  assert.equal(report.ok, false)
  assert.deepEqual(report.added, ['c.txt'])
  assert.deepEqual(report.modified, [{ path: 'a.txt', change: 'content' }])
  assert.throws(() => Manifest.fromJson(manifest.toJson().replace('"a.txt"', '"../a.txt"')), {
    code: 'ERR_STRONGROOM_FORMAT',
    message: /unsafe path/,
  })
})

test('key files must be private', () => {
  const dir = tmpdir()
  const file = path.join(dir, 'k.key')
  fs.writeFileSync(file, KEY.toString('hex'), { mode: 0o644 })
  fs.chmodSync(file, 0o644)
  assert.throws(() => loadKeyFile(file), { code: 'ERR_STRONGROOM_KEY', message: /chmod 600/ })
  fs.chmodSync(file, 0o600)
  assert.deepEqual(loadKeyFile(file), KEY)
  assert.equal(generateKey().length, 32)
})

test('the ES module entry exports the same API', async () => {
  const esm = await import('../strongroom.mjs')
  assert.equal(typeof esm.KeyRing, 'function')
  const r = new esm.KeyRing()
  r.addSigningKey('k1', KEY)
  assert.equal(r.sign(Buffer.from('x')), ring().sign(Buffer.from('x')))
})
