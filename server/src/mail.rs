//! Outgoing mail through SMTP (`lettre`), configured in `[smtp]`: implicit TLS, STARTTLS
//! (refused, with nothing sent, if the server cannot upgrade) or plain text for a relay on the
//! same machine. The password is read from a file of its own, mode 0600, and never logged.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::SmtpConfig;

/// Sends plain-text mail from the configured sender.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    host: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("host", &self.host)
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// The mailer `[smtp]` describes, or `None` when no host is set.
    pub fn from_config(c: &SmtpConfig) -> Result<Option<Mailer>, String> {
        if c.host.is_empty() {
            return Ok(None);
        }
        let from: Mailbox = c
            .from
            .parse()
            .map_err(|e| format!("smtp.from {:?}: {e}", c.from))?;
        let relay_error = |e: lettre::transport::smtp::Error| format!("smtp.host: {e}");
        let mut b = match c.security.as_str() {
            "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(&c.host).map_err(relay_error)?,
            "starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&c.host)
                .map_err(relay_error)?,
            _ => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&c.host),
        };
        if c.port != 0 {
            b = b.port(c.port);
        }
        b = b.timeout(Some(Duration::from_secs(c.timeout_secs.max(1))));
        if !c.username.is_empty() {
            let mode = std::fs::metadata(&c.password_file)
                .map_err(|e| format!("smtp.password_file {}: {e}", c.password_file))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(format!(
                    "smtp.password_file {} is readable by others (mode {:o}); chmod 600 it",
                    c.password_file,
                    mode & 0o777
                ));
            }
            let password = std::fs::read_to_string(&c.password_file)
                .map_err(|e| format!("smtp.password_file {}: {e}", c.password_file))?;
            b = b.credentials(Credentials::new(
                c.username.clone(),
                password.trim_end_matches(['\r', '\n']).to_owned(),
            ));
        }
        Ok(Some(Mailer {
            transport: b.build(),
            from,
            host: c.host.clone(),
        }))
    }

    /// Sends `body` (plain text) to `to`; the server's refusal or the connection error as text.
    pub async fn send(&self, to: &str, subject: &str, body: String) -> Result<(), String> {
        let to: Mailbox = to.parse().map_err(|e| format!("recipient: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| format!("message: {e}"))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| format!("{} did not take the message: {e}", self.host))
    }
}
