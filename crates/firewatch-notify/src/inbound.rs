//! Mail that comes back: an RFC 5322 message (as an MTA pipes it to a ticket system, or as
//! an IMAP mailbox holds it) read with `mail-parser`, and its PGP/MIME signature (RFC 3156
//! §5, `multipart/signed`) checked against the sender team's key from the directory.
//!
//! Nothing here decides what the mail means for a case: it says who sent what, in reply to
//! what, and whether the signature holds.

use mail_parser::{MessageParser, MimeHeaders};
use pgp::composed::{Deserializable, DetachedSignature, SignedPublicKey};

/// The largest message taken in by default (10 MiB): a reply with a huge attachment is
/// refused, saying so, rather than read into memory.
pub const DEFAULT_MAX_BYTES: usize = 10 * 1024 * 1024;

/// What a received message says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMail {
    /// Its Message-ID, without angle brackets.
    pub message_id: String,
    /// The sender's address, lower case.
    pub from: Option<String>,
    /// The subject (empty when there is none).
    pub subject: String,
    /// Message-IDs it answers: In-Reply-To first, then References newest first, each once.
    pub replies_to: Vec<String>,
    /// Unix seconds of its Date header, if it has a valid one.
    pub date: Option<i64>,
    /// Its first plain-text body, as written.
    pub text: String,
    /// The PGP/MIME signed entity and its signature, when it is `multipart/signed`.
    pub signed: Option<SignedPart>,
}

/// The part of a `multipart/signed` message that the signature covers, and the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPart {
    /// The signed entity as RFC 3156 §5 signs it: its bytes as transmitted, lines ended with
    /// CRLF, without the CRLF that belongs to the next boundary.
    pub data: Vec<u8>,
    /// The ASCII-armored detached signature.
    pub signature: String,
}

/// How a signature checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureCheck {
    /// Made by the key (primary or a subkey) with this fingerprint.
    Verified { fingerprint: String },
    /// Present, but not made by the key over these bytes (or unreadable): why.
    Unverified { why: String },
    /// The message is not signed.
    Unsigned,
}

impl SignatureCheck {
    /// `verified`, `unverified` or `unsigned`.
    pub fn as_str(&self) -> &'static str {
        match self {
            SignatureCheck::Verified { .. } => "verified",
            SignatureCheck::Unverified { .. } => "unverified",
            SignatureCheck::Unsigned => "unsigned",
        }
    }
}

/// Why a message could not be taken in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InboundError {
    #[error("the message is {size} bytes, more than the {max} taken in; nothing was recorded")]
    TooLarge { size: usize, max: usize },
    #[error("not an RFC 5322 message: no header could be read")]
    Unreadable,
    #[error(
        "the message has no Message-ID, so a second delivery could not be told from the first; nothing was recorded"
    )]
    NoMessageId,
    #[error("broken MIME: {0}")]
    BrokenMime(String),
}

/// Reads a message of at most `max_bytes`.
pub fn read_mail(raw: &[u8], max_bytes: usize) -> Result<InboundMail, InboundError> {
    if raw.len() > max_bytes {
        return Err(InboundError::TooLarge {
            size: raw.len(),
            max: max_bytes,
        });
    }
    let message = MessageParser::default()
        .parse(raw)
        .ok_or(InboundError::Unreadable)?;
    if message.root_part().headers().is_empty() {
        return Err(InboundError::Unreadable);
    }
    let message_id = message
        .message_id()
        .map(|id| id.trim().trim_matches(['<', '>']).to_owned())
        .filter(|id| !id.is_empty())
        .ok_or(InboundError::NoMessageId)?;
    let from = message
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .map(str::to_ascii_lowercase);
    let mut replies_to: Vec<String> = Vec::new();
    let mut add = |ids: Option<&[std::borrow::Cow<'_, str>]>, newest_first: bool| {
        let mut ids: Vec<String> = ids
            .unwrap_or_default()
            .iter()
            .map(|id| id.trim().trim_matches(['<', '>']).to_owned())
            .filter(|id| !id.is_empty())
            .collect();
        if newest_first {
            ids.reverse();
        }
        for id in ids {
            if !replies_to.contains(&id) {
                replies_to.push(id);
            }
        }
    };
    add(message.in_reply_to().as_text_list(), false);
    add(message.references().as_text_list(), true);
    let signed = signed_part(&message, raw)?;
    let text = message
        .body_text(0)
        .map(|t| t.into_owned())
        .unwrap_or_default();
    Ok(InboundMail {
        message_id,
        from,
        subject: message.subject().unwrap_or_default().trim().to_owned(),
        replies_to,
        date: message.date().map(|d| d.to_timestamp()),
        text,
        signed,
    })
}

/// The signed entity and signature of a `multipart/signed` message (RFC 3156 §5), if it is
/// one.
fn signed_part(
    message: &mail_parser::Message<'_>,
    raw: &[u8],
) -> Result<Option<SignedPart>, InboundError> {
    let root = message.root_part();
    let Some(ct) = root.content_type() else {
        return Ok(None);
    };
    if !ct.ctype().eq_ignore_ascii_case("multipart")
        || !ct
            .subtype()
            .is_some_and(|s| s.eq_ignore_ascii_case("signed"))
    {
        return Ok(None);
    }
    let parts = root.sub_parts().unwrap_or_default();
    let [entity, signature, ..] = parts else {
        return Err(InboundError::BrokenMime(format!(
            "multipart/signed needs the signed part and the signature; it has {} part(s)",
            parts.len()
        )));
    };
    let part = |id: &u32| {
        message.part(*id).ok_or_else(|| {
            InboundError::BrokenMime(format!("multipart/signed: part {id} is missing"))
        })
    };
    let (entity, signature) = (part(entity)?, part(signature)?);
    let start = entity.raw_header_offset() as usize;
    let end = (entity.raw_end_offset() as usize).min(raw.len());
    if start >= end {
        return Err(InboundError::BrokenMime(
            "multipart/signed: the signed part is empty".into(),
        ));
    }
    // mail-parser ends a part before the line break that belongs to the next boundary
    // (RFC 2046 §5.1.1), which is what RFC 3156 signs.
    let data = &raw[start..end];
    let armored = String::from_utf8_lossy(signature.contents()).into_owned();
    Ok(Some(SignedPart {
        data: crlf(data),
        signature: armored,
    }))
}

/// Lines ended with CRLF, as RFC 3156 signs them (an MTA on Unix may hand over bare LF).
fn crlf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 40);
    let mut previous = 0u8;
    for &b in data {
        if b == b'\n' && previous != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        previous = b;
    }
    out
}

/// Checks `signed` against a team's armored public key (the directory's): by its primary key
/// or any subkey.
pub fn verify(signed: &SignedPart, armored_key: &str) -> SignatureCheck {
    let unverified = |why: String| SignatureCheck::Unverified { why };
    let key = match SignedPublicKey::from_armor_single(armored_key.as_bytes()) {
        Ok((key, _)) => key,
        Err(e) => return unverified(format!("the team's key cannot be read: {e}")),
    };
    let signature = match DetachedSignature::from_armor_single(signed.signature.as_bytes()) {
        Ok((sig, _)) => sig,
        Err(e) => return unverified(format!("the signature cannot be read: {e}")),
    };
    let fingerprint = |f: pgp::types::Fingerprint| format!("{f:X}");
    if signature.verify(&key.primary_key, &signed.data).is_ok() {
        return SignatureCheck::Verified {
            fingerprint: fingerprint(pgp::types::KeyDetails::fingerprint(&key.primary_key)),
        };
    }
    for sub in &key.public_subkeys {
        if signature.verify(&sub.key, &signed.data).is_ok() {
            return SignatureCheck::Verified {
                fingerprint: fingerprint(pgp::types::KeyDetails::fingerprint(&sub.key)),
            };
        }
    }
    unverified("the signature was not made by the team's key over this message".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::{EmailContent, build_email};
    use crate::openpgp::SenderKey;

    fn signed_mail(key: &SenderKey, subject: &str) -> Vec<u8> {
        let to = vec!["cert@example.org".to_owned()];
        build_email(
            &EmailContent {
                notice_id: "reply-1",
                from: "JP CERT <cert@jp.example>",
                to: &to,
                subject,
                body: "We are on it.\n",
                attachment_name: "a.txt",
                attachment_type: "text/plain",
                attachment: b"x".to_vec(),
                date: 1_800_000_000,
                references: &[],
            },
            key,
            None,
        )
        .unwrap()
    }

    #[test]
    fn reads_who_what_and_a_good_signature() {
        let key = SenderKey::throwaway("jp <cert@jp.example>").unwrap();
        let raw = signed_mail(&key, "Re: [Firewatch #4] tcp/23 spike");
        let mail = read_mail(&raw, DEFAULT_MAX_BYTES).unwrap();
        assert_eq!(mail.message_id, "reply-1@jp.example");
        assert_eq!(mail.from.as_deref(), Some("cert@jp.example"));
        assert_eq!(mail.subject, "Re: [Firewatch #4] tcp/23 spike");
        assert_eq!(mail.date, Some(1_800_000_000));
        let signed = mail.signed.as_ref().expect("multipart/signed");
        let public = key.public_armored().unwrap();
        assert!(matches!(
            verify(signed, &public),
            SignatureCheck::Verified { .. }
        ));
        // The same message with bare LF line ends (as a Unix MTA may pipe it) still verifies.
        let lf: Vec<u8> = String::from_utf8(raw.clone())
            .unwrap()
            .replace("\r\n", "\n")
            .into_bytes();
        let mail = read_mail(&lf, DEFAULT_MAX_BYTES).unwrap();
        assert!(matches!(
            verify(mail.signed.as_ref().unwrap(), &public),
            SignatureCheck::Verified { .. }
        ));
    }

    #[test]
    fn another_key_or_a_changed_body_is_unverified() {
        let key = SenderKey::throwaway("jp <cert@jp.example>").unwrap();
        let other = SenderKey::throwaway("mallory <m@evil.example>").unwrap();
        let raw = signed_mail(&key, "Re: [Firewatch #4]");
        let mail = read_mail(&raw, DEFAULT_MAX_BYTES).unwrap();
        let signed = mail.signed.unwrap();
        assert!(matches!(
            verify(&signed, &other.public_armored().unwrap()),
            SignatureCheck::Unverified { .. }
        ));
        let text = String::from_utf8(raw).unwrap().replace("on it", "on IT");
        let changed = read_mail(text.as_bytes(), DEFAULT_MAX_BYTES).unwrap();
        assert!(matches!(
            verify(
                changed.signed.as_ref().unwrap(),
                &key.public_armored().unwrap()
            ),
            SignatureCheck::Unverified { .. }
        ));
    }

    #[test]
    fn threads_on_in_reply_to_then_references() {
        let raw = b"From: a@b.example\r\nMessage-ID: <m3@b.example>\r\nIn-Reply-To: <m2@x>\r\nReferences: <m0@x> <m1@x>\r\n <m2@x>\r\nSubject: hi\r\n\r\nbody\r\n";
        let mail = read_mail(raw, DEFAULT_MAX_BYTES).unwrap();
        assert_eq!(mail.replies_to, ["m2@x", "m1@x", "m0@x"]);
        assert!(mail.signed.is_none());
        assert_eq!(mail.text.trim(), "body");
    }

    #[test]
    fn refuses_what_it_cannot_take_in_saying_why() {
        assert!(matches!(
            read_mail(&[b'a'; 100], 10),
            Err(InboundError::TooLarge { size: 100, max: 10 })
        ));
        let no_id = b"From: a@b.example\r\nSubject: hi\r\n\r\nbody\r\n";
        assert_eq!(
            read_mail(no_id, DEFAULT_MAX_BYTES),
            Err(InboundError::NoMessageId)
        );
        let broken = b"From: a@b.example\r\nMessage-ID: <x@y>\r\nContent-Type: multipart/signed; boundary=zz\r\n\r\n--zz\r\nonly one part\r\n--zz--\r\n";
        assert!(matches!(
            read_mail(broken, DEFAULT_MAX_BYTES),
            Err(InboundError::BrokenMime(_))
        ));
        assert!(read_mail(b"", DEFAULT_MAX_BYTES).is_err());
    }
}
