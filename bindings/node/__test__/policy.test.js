'use strict'
// strongroom PolicyEngine (Node): decisions, batches, explain, hot reload, bad input.
const { test } = require('node:test')
const assert = require('node:assert/strict')

const { PolicyEngine } = require('../strongroom.js')

const SCHEMA = `
entity User in [Group];
entity Group;
entity Doc { owner: User, public: Bool };
action read, write appliesTo { principal: User, resource: Doc, context: { mfa: Bool } };
`
const POLICIES = {
  base: `
@id("owner-all") @reason("owners may do anything")
permit(principal, action, resource) when { resource.owner == principal };
@id("public-read")
permit(principal, action == Action::"read", resource) when { resource.public };
@id("editors-write")
permit(principal in Group::"editors", action == Action::"write", resource) when { context.mfa };
`,
}
const uid = (type, id) => ({ type, id })
const ENTITIES = [
  { uid: uid('User', 'ann'), attrs: {}, parents: [] },
  { uid: uid('User', 'bob'), attrs: {}, parents: [uid('Group', 'editors')] },
  { uid: uid('Group', 'editors'), attrs: {}, parents: [] },
  { uid: uid('Doc', 'd1'), attrs: { owner: { __entity: uid('User', 'ann') }, public: false }, parents: [] },
  { uid: uid('Doc', 'd2'), attrs: { owner: { __entity: uid('User', 'ann') }, public: true }, parents: [] },
]
const req = (principal, action, resource, mfa = false) => ({
  principal: `User::"${principal}"`,
  action: `Action::"${action}"`,
  resource: `Doc::"${resource}"`,
  context: { mfa },
})

test('decisions name their policies and annotations', () => {
  const engine = new PolicyEngine(SCHEMA, POLICIES)
  const entities = engine.entities(ENTITIES)
  assert.equal(entities.length, 5)
  const allowed = engine.authorize(req('ann', 'write', 'd1'), entities)
  assert.equal(allowed.allowed, true)
  assert.deepEqual(allowed.policies, ['owner-all'])
  assert.equal(allowed.annotations['owner-all'].reason, 'owners may do anything')
  assert.equal(engine.authorize(req('bob', 'read', 'd1'), entities).allowed, false)
  assert.deepEqual(engine.authorize(req('bob', 'read', 'd2'), ENTITIES).policies, ['public-read'])
})

test('batches keep order', () => {
  const engine = new PolicyEngine(SCHEMA, POLICIES)
  const entities = engine.entities(ENTITIES)
  const requests = Array.from({ length: 3000 }, (_, i) => req('bob', 'write', 'd1', i % 2 === 0))
  const decisions = engine.authorizeBatch(requests, entities)
  assert.deepEqual(
    decisions.map((d) => d.allowed),
    requests.map((_, i) => i % 2 === 0),
  )
})

test('explain names the clause that failed', () => {
  const engine = new PolicyEngine(SCHEMA, POLICIES)
  const why = engine.explain(req('bob', 'write', 'd1', false), ENTITIES)
  assert.equal(why.decision.allowed, false)
  assert.equal(why.candidates[0].policy.id, 'editors-write')
  assert.equal(why.candidates[0].failed.expression, 'context.mfa')
  assert.match(why.text, /editors-write/)
})

test('listResources, validate and atomic replace', () => {
  const engine = new PolicyEngine(SCHEMA, POLICIES)
  const entities = engine.entities(ENTITIES)
  assert.deepEqual(engine.listResources('User::"bob"', 'Action::"read"', ['Doc::"d1"', 'Doc::"d2"'], entities, { mfa: false }), [
    'Doc::"d2"',
  ])
  assert.deepEqual(PolicyEngine.validate(SCHEMA, POLICIES), [])
  assert.equal(PolicyEngine.validate(SCHEMA, 'permit(principal, action, resource) when { resource.nope };').length, 1)
  const v1 = engine.version
  assert.throws(() => engine.replace(SCHEMA, 'permit(principal, action, resource) when { resource.nope };'), {
    code: 'ERR_STRONGROOM_VALIDATION',
  })
  assert.equal(engine.version, v1)
  assert.ok(engine.replace(SCHEMA, 'forbid(principal, action, resource);') > v1)
  assert.equal(engine.authorize(req('ann', 'write', 'd1'), entities).allowed, false)
  assert.ok(PolicyEngine.filePlatform().policyIds.length > 5)
})

test('bad input gets clear errors, never a crash', () => {
  const engine = new PolicyEngine(SCHEMA, POLICIES)
  assert.throws(() => new PolicyEngine(SCHEMA, 'permit(principal, action resource);'), { code: 'ERR_STRONGROOM_FORMAT' })
  assert.throws(() => new PolicyEngine(SCHEMA, 42))
  assert.throws(() => engine.authorize({ action: 'Action::"read"', resource: 'Doc::"d1"' }, ENTITIES), {
    code: 'ERR_STRONGROOM_FORMAT',
    message: /principal/,
  })
  assert.throws(() => engine.authorize({ ...req('ann', 'read', 'd1'), action: 'Action::"delete"' }, ENTITIES), {
    code: 'ERR_STRONGROOM_FORMAT',
  })
  assert.throws(() => engine.entities([{ uid: uid('Doc', 'x'), attrs: { owner: 5, public: true }, parents: [] }]), {
    code: 'ERR_STRONGROOM_FORMAT',
  })
  assert.throws(() => engine.entities({ not: 'an array' }), { code: 'ERR_STRONGROOM_ARGUMENT' })
  assert.throws(() => engine.authorize(req('ann', 'read', 'd1'), 'nope'))
})
