//! The e-mail notice: a MIME message built with lettre, signed as PGP/MIME (RFC 3156 §5,
//! `multipart/signed`) and optionally encrypted (RFC 3156 §4, `multipart/encrypted`, signed
//! then encrypted as §6.1 describes).
//!
//! The signed entity is the text part and the attachment in a `multipart/mixed`, exactly as
//! it is transmitted: CRLF line endings (lettre writes them), 7-bit transfer encodings only
//! (quoted-printable text, base64 attachment) so no relay re-encodes it, and without the
//! CRLF that belongs to the following boundary (RFC 3156 §5, RFC 2046 §5.1.1).

use std::time::{Duration, SystemTime};

use lettre::Message;
use lettre::message::header::{
    ContentDisposition, ContentTransferEncoding, ContentType, HeaderName, HeaderValue,
};
use lettre::message::{Attachment, Body, Mailbox, MultiPart, SinglePart};

use crate::NotifyError;
use crate::openpgp::{RecipientKey, SenderKey};

/// What goes into one e-mail.
pub struct EmailContent<'a> {
    /// The notice id: the Message-ID's left part.
    pub notice_id: &'a str,
    pub from: &'a str,
    pub to: &'a [String],
    pub subject: &'a str,
    pub body: &'a str,
    pub attachment_name: &'a str,
    pub attachment_type: &'a str,
    pub attachment: Vec<u8>,
    /// Unix seconds, for the Date header.
    pub date: i64,
    /// Message-IDs of the thread it answers (`<…>` each), oldest first: the last is its
    /// In-Reply-To, all are its References. Empty for a first message.
    pub references: &'a [String],
}

/// Parses `Name <addr@host>` or `addr@host`.
pub fn parse_mailbox(text: &str) -> Result<Mailbox, NotifyError> {
    text.parse::<Mailbox>()
        .map_err(|e| NotifyError::Config(format!("{text:?} is not an e-mail address: {e}")))
}

/// The Message-ID of a notice: `<id@domain-of-from>`, the same on every retry.
pub fn message_id(notice_id: &str, from: &str) -> Result<String, NotifyError> {
    let mailbox = parse_mailbox(from)?;
    Ok(format!("<{notice_id}@{}>", mailbox.email.domain()))
}

fn content_type(text: &str) -> Result<ContentType, NotifyError> {
    ContentType::parse(text).map_err(|e| NotifyError::Mime(format!("{text}: {e}")))
}

fn seven_bit(text: String) -> Result<Body, NotifyError> {
    Body::new_with_encoding(text, ContentTransferEncoding::SevenBit)
        .map_err(|_| NotifyError::Mime("armored OpenPGP data is not 7-bit".into()))
}

/// The bytes RFC 3156 §5 signs: the entity as transmitted, minus the CRLF that lettre
/// appends and that belongs to the next boundary delimiter.
pub fn signed_bytes(entity: &MultiPart) -> Vec<u8> {
    let mut bytes = entity.formatted();
    if bytes.ends_with(b"\r\n") {
        bytes.truncate(bytes.len() - 2);
    }
    bytes
}

/// Builds the whole message, signed by `sender` and, when `encrypt_to` is given, encrypted
/// to that key. Returns the bytes to hand to the SMTP server.
pub fn build_email(
    content: &EmailContent<'_>,
    sender: &SenderKey,
    encrypt_to: Option<&RecipientKey>,
) -> Result<Vec<u8>, NotifyError> {
    let text = SinglePart::builder().header(ContentType::TEXT_PLAIN).body(
        Body::new_with_encoding(
            content.body.to_string(),
            ContentTransferEncoding::QuotedPrintable,
        )
        .map_err(|_| NotifyError::Mime("body".into()))?,
    );
    let attachment = Attachment::new(content.attachment_name.to_string()).body(
        Body::new_with_encoding(content.attachment.clone(), ContentTransferEncoding::Base64)
            .map_err(|_| NotifyError::Mime("attachment".into()))?,
        content_type(content.attachment_type)?,
    );
    // A message without an attachment (a case's mail) is its text alone, still in a
    // multipart/mixed so the signed entity has one shape.
    let entity = if content.attachment_name.is_empty() {
        MultiPart::mixed().singlepart(text)
    } else {
        MultiPart::mixed().singlepart(text).singlepart(attachment)
    };
    let signature = sender.sign(&signed_bytes(&entity))?;
    let signed = MultiPart::signed("application/pgp-signature".into(), "pgp-sha256".into())
        .multipart(entity)
        .singlepart(
            SinglePart::builder()
                .header(content_type(
                    "application/pgp-signature; name=\"signature.asc\"",
                )?)
                .header(ContentDisposition::attachment("signature.asc"))
                .body(seven_bit(signature)?),
        );
    let top = match encrypt_to {
        None => signed,
        Some(key) => {
            let armored = key.encrypt(&signed.formatted())?;
            MultiPart::encrypted("application/pgp-encrypted".into())
                .singlepart(
                    SinglePart::builder()
                        .header(content_type("application/pgp-encrypted")?)
                        .body(seven_bit("Version: 1\r\n".into())?),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(content_type(
                            "application/octet-stream; name=\"encrypted.asc\"",
                        )?)
                        .header(ContentDisposition::inline_with_name("encrypted.asc"))
                        .body(seven_bit(armored)?),
                )
        }
    };
    let mut builder = Message::builder()
        .from(parse_mailbox(content.from)?)
        .subject(content.subject)
        .message_id(Some(message_id(content.notice_id, content.from)?))
        .date(SystemTime::UNIX_EPOCH + Duration::from_secs(content.date.max(0) as u64))
        // RFC 3834: machine-sent, so vacation responders and ticket systems do not answer.
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".into(),
        ));
    for to in content.to {
        builder = builder.to(parse_mailbox(to)?);
    }
    if let Some(last) = content.references.last() {
        builder = builder
            .in_reply_to(last.clone())
            .references(content.references.join(" "));
    }
    let message = builder
        .multipart(top)
        .map_err(|e| NotifyError::Mime(e.to_string()))?;
    Ok(message.formatted())
}
