// ES module entry: the same objects as the CommonJS entry.
import strongroom from './strongroom.js'

export const {
  PolicyEngine,
  Entities,
  KeyRing,
  ChunkMap,
  Manifest,
  Signer,
  Verifier,
  generateKey,
  loadKeyFile,
  parseSignatureParts,
} = strongroom
export default strongroom
