// A file platform in miniature, from Node: who may read a shared report, why a write is denied,
// and whether the bytes on disk are the ones that were signed.
//
//   (cd bindings/node && npm ci && npm run build) && node examples/node/share_and_verify.mjs
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { PolicyEngine, KeyRing, generateKey } = require('../../bindings/node/strongroom.js')

const SCHEMA = `
entity User in [Group];
entity Group;
entity Doc { owner: User };
action read, write appliesTo { principal: User, resource: Doc, context: { mfa: Bool } };
`
const POLICIES = `
@id("owner") permit(principal, action, resource) when { resource.owner == principal };
@id("team-read") permit(principal in Group::"finance", action == Action::"read", resource);
@id("team-write-mfa") permit(principal in Group::"finance", action == Action::"write", resource) when { context.mfa };
`
const uid = (type, id) => ({ type, id })
const engine = new PolicyEngine(SCHEMA, POLICIES)
const entities = engine.entities([
  { uid: uid('User', 'ann'), attrs: {}, parents: [] },
  { uid: uid('User', 'bob'), attrs: {}, parents: [uid('Group', 'finance')] },
  { uid: uid('Group', 'finance'), attrs: {}, parents: [] },
  { uid: uid('Doc', 'q3'), attrs: { owner: { __entity: uid('User', 'ann') } }, parents: [] },
])
const request = (action, mfa) => ({
  principal: 'User::"bob"',
  action: `Action::"${action}"`,
  resource: 'Doc::"q3"',
  context: { mfa },
})

const read = engine.authorize(request('read', false), entities)
console.log(`bob reads q3: ${read.allowed} (by ${read.policies})`)
const nearest = engine.explain(request('write', false), entities).candidates[0]
console.log(`bob writes q3 without MFA: denied; nearest permit ${nearest.policy.id} failed at \`${nearest.failed.expression}\``)

const ring = new KeyRing()
ring.addSigningKey('2026-11', generateKey())
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strongroom-example-'))
const report = path.join(dir, 'q3.pdf')
fs.writeFileSync(report, '%PDF-1.7 quarterly numbers')
const signature = await ring.signFile(report)
console.log(`signed: ${signature.slice(0, 40)}...`)
await ring.verifyFile(report, signature)
fs.writeFileSync(report, '%PDF-1.7 quarterly numbers, edited')
try {
  await ring.verifyFile(report, signature)
} catch (err) {
  if (err.code !== 'ERR_STRONGROOM_MISMATCH') throw err
  console.log('tampering detected: the file no longer matches its signature')
}
fs.rmSync(dir, { recursive: true })
