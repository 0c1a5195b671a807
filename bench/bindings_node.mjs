// Node bindings vs the peers Node developers use today, same inputs, same run.
//
// 1. authorize, one call at a time: strongroom PolicyEngine (engine and entities built once) vs
//    @cedar-policy/cedar-wasm isAuthorized (which takes policies and entities on every call).
// 2. HMAC-SHA256 of a file: KeyRing.signFile vs a crypto.createHmac stream.
//
// Usage: node bench/bindings_node.mjs WORKLOAD.json FILE_TO_HASH PEER_DIR
// (WORKLOAD.json is written by bindings_python.py; PEER_DIR holds node_modules/@cedar-policy/cedar-wasm)
import { createRequire } from 'node:module'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'

const [workloadPath, filePath, peerDir] = process.argv.slice(2)
const require = createRequire(import.meta.url)
const { PolicyEngine, KeyRing, parseSignatureParts } = require('../bindings/node/strongroom.js')
const cedar = createRequire(`${peerDir}/`)('@cedar-policy/cedar-wasm/nodejs')
const MACHINE = `${os.cpus().length}-core ${os.platform()} VM`

const { schema, policies, entities, requests } = JSON.parse(fs.readFileSync(workloadPath, 'utf8'))
const engine = new PolicyEngine(schema, policies)
const parsed = engine.entities(entities)

const uid = (text) => {
  const m = /^(\w+)::"(.*)"$/.exec(text)
  return { type: m[1], id: m[2] }
}
const wasmCall = (r) => ({
  principal: uid(r.principal),
  action: uid(r.action),
  resource: uid(r.resource),
  context: r.context,
  schema,
  validateRequest: true,
  policies: { staticPolicies: policies },
  entities,
})
const wasmAllowed = (r) => {
  const answer = cedar.isAuthorized(wasmCall(r))
  if (answer.type !== 'success') throw new Error(JSON.stringify(answer.errors))
  return answer.response.decision === 'allow'
}

// Same answers first.
for (const r of requests.slice(0, 200)) {
  if (engine.authorize(r, parsed).allowed !== wasmAllowed(r)) throw new Error('strongroom and cedar-wasm disagree')
}

function perCall(fn, reqs, minMs = 2000) {
  const passes = []
  const start = performance.now()
  while (performance.now() - start < minMs || passes.length < 3) {
    const t0 = performance.now()
    for (const r of reqs) fn(r)
    passes.push((performance.now() - t0) / reqs.length / 1000)
  }
  passes.sort((a, b) => a - b)
  return passes[Math.floor(passes.length / 2)]
}

async function median(fn, runs = 5) {
  const times = []
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    await fn()
    times.push((performance.now() - t0) / 1000)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)]
}

const row = (name, ours, peer, theirs, unit) => {
  const fmt = unit === 'us' ? (s) => `${(s * 1e6).toFixed(1)} µs` : (s) => `${s.toFixed(3)} s`
  console.log(`| ${name} | ${fmt(ours)} | ${peer} | ${fmt(theirs)} | ${(theirs / ours).toFixed(2)}× | ${MACHINE} | \`bench/bindings.sh\` |`)
}

const ours = perCall((r) => engine.authorize(r, parsed), requests.slice(0, 2000))
const theirs = perCall(wasmAllowed, requests.slice(0, 100))
row('authorize, 1 request, 2,200 entities (Node)', ours, '@cedar-policy/cedar-wasm 4 isAuthorized', theirs, 'us')
if (process.env.RUST_AUTHORIZE_US) {
  row('binding overhead: Node authorize vs the Rust API (request from JSON)', ours, 'Rust `Request::from_json` + `authorize`', Number(process.env.RUST_AUTHORIZE_US) / 1e6, 'us')
}

// cedar-wasm's best case: policies and schema pre-parsed (entities still travel on every call).
if (cedar.preparsePolicySet('bench', { staticPolicies: policies }).type !== 'success') throw new Error('preparse')
if (cedar.preparseSchema('bench', schema).type !== 'success') throw new Error('preparse schema')
const stateful = (r) => {
  const { schema: _s, policies: _p, ...rest } = wasmCall(r)
  const answer = cedar.statefulIsAuthorized({ ...rest, preparsedPolicySetId: 'bench', preparsedSchemaName: 'bench' })
  if (answer.type !== 'success') throw new Error(JSON.stringify(answer.errors))
  return answer.response.decision === 'allow'
}
for (const r of requests.slice(0, 50)) {
  if (engine.authorize(r, parsed).allowed !== stateful(r)) throw new Error('strongroom and cedar-wasm (stateful) disagree')
}
const theirsStateful = perCall(stateful, requests.slice(0, 100))
row('authorize, 1 request, 2,200 entities (Node)', ours, 'cedar-wasm statefulIsAuthorized (pre-parsed policies)', theirsStateful, 'us')

const key = crypto.randomBytes(32)
const ring = new KeyRing()
ring.addSigningKey('bench', key)
const nodeHmac = async () => {
  const mac = crypto.createHmac('sha256', key)
  for await (const chunk of fs.createReadStream(filePath, { highWaterMark: 1 << 20 })) mac.update(chunk)
  return mac.digest('hex')
}
if (parseSignatureParts(await ring.signFile(filePath)).mac !== (await nodeHmac())) throw new Error('MACs disagree')
const oursFile = await median(() => ring.signFile(filePath))
const theirsFile = await median(nodeHmac)
const gib = fs.statSync(filePath).size / 2 ** 30
row(`HMAC-SHA256 of a ${gib.toFixed(0)} GiB file (Node)`, oursFile, 'crypto.createHmac stream, 1 MiB reads', theirsFile, 's')
