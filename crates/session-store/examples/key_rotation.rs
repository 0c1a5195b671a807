//! Rotate the signing key without invalidating tokens in flight, publish the JWKS, and verify on
//! a resource server that only has the JWKS.
//!
//! `cargo run -p strongroom-session-store --example key_rotation`

use strongroom_session_store::{
    AccessGrant, AccessTokens, Algorithm, Error, KeyRing, SigningKey, TokenPolicy, TokenRejection,
};

fn main() -> Result<(), Error> {
    let policy = TokenPolicy::new("https://auth.example.com", "files-api");
    let issuer = AccessTokens::new(KeyRing::generate(Algorithm::EdDSA)?, policy.clone())?;
    let grant = AccessGrant {
        subject: "alice".into(),
        session_id: "s-1".into(),
        ..AccessGrant::default()
    };

    let (before, _) = issuer.issue(&grant)?;
    let old_kid = issuer.signing_kid().unwrap_or_default();

    // 1. A new key starts signing; the old one keeps verifying.
    let next = SigningKey::generate(Algorithm::EdDSA)?;
    let der = next.to_pkcs8_der()?; // persist this (encrypted) to reload the key after a restart
    println!(
        "new signing key {} ({} bytes of PKCS#8)",
        next.kid(),
        der.len()
    );
    issuer.rotate_signing_key(next)?;
    let (after, _) = issuer.issue(&grant)?;

    // 2. Resource servers refresh their copy of the JWKS and verify both tokens.
    let resource = AccessTokens::new(KeyRing::from_jwks(&issuer.jwks())?, policy.clone())?;
    resource.verify(before.as_str())?;
    resource.verify(after.as_str())?;
    println!("both tokens verify with the published JWKS");

    // 3. Once tokens signed by the old key have expired (one access-token TTL), retire it.
    issuer.retire_key(&old_kid)?;
    let resource = AccessTokens::new(KeyRing::from_jwks(&issuer.jwks())?, policy)?;
    match resource.verify(before.as_str()) {
        Err(Error::AccessTokenRejected(TokenRejection::UnknownKey)) => {
            println!("token signed by the retired key is rejected")
        }
        other => println!("unexpected: {other:?}"),
    }
    resource.verify(after.as_str())?;
    Ok(())
}
