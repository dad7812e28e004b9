//! SMTP submission with lettre: STARTTLS required, opportunistic or off, optional AUTH.

use std::time::Duration;

use lettre::Transport;
use lettre::address::Envelope;
use lettre::transport::smtp::SmtpTransport;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};

use crate::NotifyError;
use crate::config::{SmtpConfig, StartTls};
use crate::mail::parse_mailbox;

/// A configured SMTP client (one connection per message: notices are few).
pub struct Mailer {
    transport: SmtpTransport,
}

impl Mailer {
    /// Builds the client; the password is read from the environment variable the config
    /// names.
    pub fn new(cfg: &SmtpConfig, timeout: Duration) -> Result<Mailer, NotifyError> {
        let tls = match cfg.starttls {
            StartTls::None => Tls::None,
            mode => {
                let mut builder = TlsParameters::builder(cfg.host.clone());
                if let Some(path) = &cfg.ca_file {
                    let pem = std::fs::read(path).map_err(|e| {
                        NotifyError::Config(format!("smtp.ca_file {}: {e}", path.display()))
                    })?;
                    let cert = Certificate::from_pem(&pem).map_err(|e| {
                        NotifyError::Config(format!("smtp.ca_file {}: {e}", path.display()))
                    })?;
                    builder = builder.add_root_certificate(cert);
                }
                let params = builder
                    .build()
                    .map_err(|e| NotifyError::Config(format!("smtp TLS: {e}")))?;
                if mode == StartTls::Required {
                    Tls::Required(params)
                } else {
                    Tls::Opportunistic(params)
                }
            }
        };
        let mut builder = SmtpTransport::builder_dangerous(cfg.host.clone())
            .port(cfg.port)
            .tls(tls)
            .timeout(Some(timeout));
        if let Some(user) = &cfg.user {
            let var = cfg.password_env.as_deref().ok_or_else(|| {
                NotifyError::Config("smtp.user is set but smtp.password_env is not".into())
            })?;
            let password = std::env::var(var).map_err(|_| {
                NotifyError::Config(format!("smtp.password_env: ${var} is not set"))
            })?;
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        Ok(Mailer {
            transport: builder.build(),
        })
    }

    /// Submits `message` (already formatted) from `from` to `to`. Succeeds only when the
    /// server accepted the message (250 after DATA).
    pub fn send(&self, from: &str, to: &[String], message: &[u8]) -> Result<(), String> {
        let from = parse_mailbox(from).map_err(|e| e.to_string())?.email;
        let to = to
            .iter()
            .map(|t| parse_mailbox(t).map(|m| m.email))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let envelope = Envelope::new(Some(from), to).map_err(|e| e.to_string())?;
        self.transport
            .send_raw(&envelope, message)
            .map(|_| ())
            .map_err(|e| {
                let code = e
                    .status()
                    .map(|c| format!("SMTP {c}: "))
                    .unwrap_or_default();
                format!("{code}{e}")
            })
    }
}
