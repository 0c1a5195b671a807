//! Login on two devices, rotate, detect a replayed refresh token, list and revoke sessions.
//!
//! `cargo run -p strongroom-session-store --example sessions`

use std::sync::Arc;
use std::time::Duration;

use strongroom_session_store::{
    Algorithm, ClientInfo, Error, KeyRing, Login, MemorySessionStore, SessionEvent, SessionManager,
    TokenPolicy,
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manager = SessionManager::builder(
        Arc::new(MemorySessionStore::new()),
        KeyRing::generate(Algorithm::EdDSA)?,
        TokenPolicy::new("https://auth.example.com", "files-api"),
    )
    .refresh_grace(Duration::from_secs(5))
    .events(|event: &SessionEvent| println!("event: {event:?}"))
    .build()?;

    let laptop = ClientInfo::new()
        .device_id("laptop-1")
        .device_name("Laptop")
        .ip("203.0.113.9".parse()?);
    let phone = ClientInfo::new()
        .device_id("phone-1")
        .device_name("Phone")
        .ip("198.51.100.4".parse()?);
    let on_laptop = manager
        .login(Login::new("alice").roles(["editor"]).client(laptop.clone()))
        .await?;
    let on_phone = manager
        .login(Login::new("alice").roles(["editor"]).client(phone.clone()))
        .await?;

    let claims = manager
        .verify_access(on_laptop.access_token.as_str(), true)
        .await?;
    println!(
        "access token for {} in session {} (expires at {})",
        claims.sub, claims.sid, claims.exp
    );

    // The laptop refreshes; a retry within the grace window gets the same successor.
    let rotated = manager
        .refresh(on_laptop.refresh_token.as_str(), &laptop)
        .await?;
    let retried = manager
        .refresh(on_laptop.refresh_token.as_str(), &laptop)
        .await?;
    assert_eq!(rotated.refresh_token, retried.refresh_token);

    // The phone's first token is stolen and replayed after the phone used its successor: the
    // grace window no longer applies, so this is reuse.
    let next = manager
        .refresh(on_phone.refresh_token.as_str(), &phone)
        .await?;
    manager.refresh(next.refresh_token.as_str(), &phone).await?;
    match manager
        .refresh(on_phone.refresh_token.as_str(), &ClientInfo::new())
        .await
    {
        Err(Error::RefreshTokenReused) => println!("replay detected: the phone session is revoked"),
        other => println!("unexpected: {other:?}"),
    }

    for session in manager.sessions("alice").await? {
        println!(
            "active: {} on {:?} from {:?}",
            session.id, session.device_name, session.ip
        );
    }
    let revoked = manager
        .revoke_all_except("alice", &on_laptop.session_id)
        .await?;
    println!("signed out {revoked} other session(s)");
    println!("JWKS: {}", manager.jwks());
    Ok(())
}
