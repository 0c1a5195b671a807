// Compiled by `tsc --noEmit` only: proves the published types describe the API as documented.
import { KeyRing, ChunkMap, Manifest, PolicyEngine, generateKey, parseSignatureParts } from '../strongroom.js'
import type { Decision, ManifestReport, StrongroomError } from '../strongroom.js'

async function demo(): Promise<void> {
  const ring = new KeyRing('hmac-sha256')
  ring.addSigningKey('k1', generateKey())
  const signature: string = ring.sign(Buffer.from('hello'))
  ring.verify(Buffer.from('hello'), signature)
  const fromFile: string = await ring.signFile('/etc/hostname')
  await ring.verifyFile('/etc/hostname', fromFile)
  const signer = ring.signer()
  signer.update(Buffer.from('a'))
  const streamed: string = signer.finish()
  const map: ChunkMap = await ring.chunkMap('/etc/hostname', 4096)
  await ring.verifyRange(map, '/etc/hostname', 0, 1)
  const manifest = (await ring.createManifest('/etc')) as Manifest
  const report = (await ring.verifyManifest(manifest, '/etc')) as ManifestReport
  const ok: boolean = report.ok
  const kid: string = parseSignatureParts(streamed).kid
  const maybeKid: string | null | undefined = ring.signingKid
  try {
    ring.verify(Buffer.from('x'), signature)
  } catch (e) {
    const err = e as StrongroomError
    const code: 'ERR_STRONGROOM_MISMATCH' | string = err.code
    void code
  }
  void [ok, kid, maybeKid, ChunkMap.fromJson(map.toJson()).chunkCount]

  const engine = PolicyEngine.filePlatform()
  const entities = engine.entities([])
  const decision: Decision = engine.authorize({ principal: 'User::"a"', action: 'Action::"read"', resource: 'File::"f"' }, entities)
  const allowed: boolean = decision.allowed
  const batch: Decision[] = engine.authorizeBatch([], entities)
  const listed: string[] = engine.listResources('User::"a"', 'Action::"read"', [], entities, {})
  const version: number = engine.replace('entity User;', { main: '' })
  void [allowed, batch, listed, version, engine.explain({}, [])]
}
void demo
