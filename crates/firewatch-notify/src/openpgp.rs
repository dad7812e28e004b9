//! OpenPGP with rPGP (pure Rust): the sender team's detached signatures and encryption to a
//! recipient team's key from the directory.

use pgp::composed::{
    ArmorOptions, Deserializable, DetachedSignature, MessageBuilder, SignedPublicKey,
    SignedSecretKey,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::crypto::sym::SymmetricKeyAlgorithm;
use pgp::packet::Signature;
use pgp::types::{KeyDetails, Password};

use crate::NotifyError;

fn key_error(what: impl Into<String>) -> impl FnOnce(pgp::errors::Error) -> NotifyError {
    let what = what.into();
    move |e| NotifyError::OpenPgp(format!("{what}: {e}"))
}

fn flags_say(signatures: &[Signature], wanted: impl Fn(&Signature) -> bool) -> bool {
    signatures.iter().any(wanted)
}

/// The sender team's secret key, which signs every e-mail notice.
pub struct SenderKey {
    key: SignedSecretKey,
    password: Password,
}

impl std::fmt::Debug for SenderKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SenderKey")
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

impl SenderKey {
    /// Reads an ASCII-armored secret key (`gpg --armor --export-secret-keys`); `origin`
    /// names it in errors.
    pub fn from_armored(
        text: &str,
        passphrase: Option<&str>,
        origin: &str,
    ) -> Result<SenderKey, NotifyError> {
        let (key, _) = SignedSecretKey::from_armor_single(text.as_bytes()).map_err(key_error(
            format!("{origin}: not an armored OpenPGP secret key"),
        ))?;
        let password = passphrase
            .map(Password::from)
            .unwrap_or_else(Password::empty);
        let sender = SenderKey { key, password };
        // Sign once now, so a wrong passphrase or an unusable key is an error at start-up
        // rather than a failed notice later.
        sender
            .sign(b"firewatch key check")
            .map_err(|e| NotifyError::OpenPgp(format!("{origin}: the key cannot sign: {e}")))?;
        Ok(sender)
    }

    /// A key made now and kept nowhere, for previews (`notify preview`, the demo): notices
    /// signed with it show exactly what would be sent, and verify against nobody's key.
    pub fn throwaway(user_id: &str) -> Result<SenderKey, NotifyError> {
        use pgp::composed::{KeyType, SecretKeyParamsBuilder};
        let params = SecretKeyParamsBuilder::default()
            .key_type(KeyType::Ed25519Legacy)
            .can_sign(true)
            .can_certify(true)
            .primary_user_id(user_id.into())
            .build()
            .map_err(|e| NotifyError::OpenPgp(format!("a throw-away key: {e}")))?;
        let key = params
            .generate(rand_08::thread_rng())
            .map_err(|e| NotifyError::OpenPgp(format!("a throw-away key: {e}")))?;
        Ok(SenderKey {
            key,
            password: Password::empty(),
        })
    }

    /// The primary key's fingerprint, upper-case hex.
    pub fn fingerprint(&self) -> String {
        format!("{:X}", self.key.primary_key.fingerprint())
    }

    /// The public half, ASCII-armored (what recipients import to verify).
    pub fn public_armored(&self) -> Result<String, NotifyError> {
        self.key
            .to_public_key()
            .to_armored_string(ArmorOptions::default())
            .map_err(key_error("armoring the public key"))
    }

    /// A detached, ASCII-armored binary signature over `data` with SHA-256 (RFC 3156's
    /// `micalg=pgp-sha256`), by the primary key when it may sign, else by a signing subkey.
    pub fn sign(&self, data: &[u8]) -> Result<String, NotifyError> {
        let mut rng = rand_08::thread_rng();
        let primary_signs = flags_say(&self.key.details.users_signatures(), |s| {
            s.key_flags().sign()
        });
        let sig = if primary_signs {
            DetachedSignature::sign_binary_data(
                &mut rng,
                &self.key.primary_key,
                &self.password,
                HashAlgorithm::Sha256,
                data,
            )
        } else {
            let sub = self
                .key
                .secret_subkeys
                .iter()
                .find(|k| flags_say(&k.signatures, |s| s.key_flags().sign()))
                .ok_or_else(|| NotifyError::OpenPgp("the key has no signing (sub)key".into()))?;
            DetachedSignature::sign_binary_data(
                &mut rng,
                &sub.key,
                &self.password,
                HashAlgorithm::Sha256,
                data,
            )
        }
        .map_err(key_error("signing"))?;
        sig.to_armored_string(ArmorOptions::default())
            .map_err(key_error("armoring the signature"))
    }
}

trait UserSignatures {
    fn users_signatures(&self) -> Vec<Signature>;
}

impl UserSignatures for pgp::composed::SignedKeyDetails {
    /// The self-signatures that carry the primary key's flags.
    fn users_signatures(&self) -> Vec<Signature> {
        self.users
            .iter()
            .flat_map(|u| u.signatures.iter().cloned())
            .chain(self.direct_signatures.iter().cloned())
            .collect()
    }
}

/// A recipient team's public key, checked against the directory's fingerprint.
pub struct RecipientKey {
    key: SignedPublicKey,
}

impl RecipientKey {
    /// Reads an armored public key and checks that its fingerprint is `fingerprint` (hex, any
    /// case, spaces ignored), so a key swapped in the directory is never used.
    pub fn from_armored(
        text: &str,
        fingerprint: &str,
        team: &str,
    ) -> Result<RecipientKey, NotifyError> {
        let (key, _) = SignedPublicKey::from_armor_single(text.as_bytes()).map_err(key_error(
            format!("team {team}: the directory's OpenPGP key"),
        ))?;
        let found = format!("{:X}", key.primary_key.fingerprint());
        let wanted: String = fingerprint
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        if found != wanted {
            return Err(NotifyError::OpenPgp(format!(
                "team {team}: the directory's key has fingerprint {found}, not the {wanted} it names"
            )));
        }
        Ok(RecipientKey { key })
    }

    /// Encrypts `data` (SEIPD v1, AES-256) to the key's encryption subkey, ASCII-armored.
    pub fn encrypt(&self, data: &[u8]) -> Result<String, NotifyError> {
        let mut rng = rand_08::thread_rng();
        let mut builder = MessageBuilder::from_bytes("", data.to_vec())
            .seipd_v1(&mut rng, SymmetricKeyAlgorithm::AES256);
        let sub = self.key.public_subkeys.iter().find(|k| {
            flags_say(&k.signatures, |s| {
                let f = s.key_flags();
                f.encrypt_comms() || f.encrypt_storage()
            })
        });
        match sub {
            Some(sub) => builder.encrypt_to_key(&mut rng, sub),
            None => builder.encrypt_to_key(&mut rng, &self.key),
        }
        .map_err(key_error("encrypting to the recipient's key"))?;
        builder
            .to_armored_string(&mut rng, ArmorOptions::default())
            .map_err(key_error("armoring the encrypted message"))
    }
}
