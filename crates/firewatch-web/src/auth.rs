//! Credentials: API tokens (`fw_<id>_<secret>`, only a BLAKE3 hash of the secret is kept) and
//! passwords (Argon2id PHC strings, for the browser login).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use rand::Rng;

/// The prefix of every token, so that scanners for leaked secrets can recognise them.
pub const TOKEN_PREFIX: &str = "fw_";

/// A newly created token: the full secret (shown once) and what the store keeps.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// Short public id, 12 hex digits.
    pub id: String,
    /// `fw_<id>_<secret>`: give it to the user, never store it.
    pub token: String,
    /// The hash of the secret, hex, for the store.
    pub hash: String,
}

/// Creates a token: a 6-byte public id and 32 random bytes of secret (base64url).
pub fn new_token() -> NewToken {
    let mut rng = rand::rng();
    let id_bytes: [u8; 6] = rng.random();
    let secret_bytes: [u8; 32] = rng.random();
    let id: String = id_bytes.iter().map(|b| format!("{b:02x}")).collect();
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret_bytes);
    NewToken {
        token: format!("{TOKEN_PREFIX}{id}_{secret}"),
        hash: hash_secret(&secret),
        id,
    }
}

/// The stored form of a token secret. A plain hash is enough for 256 random bits (no
/// dictionary to try), and keeps each request's check cheap.
pub fn hash_secret(secret: &str) -> String {
    blake3::hash(secret.as_bytes()).to_hex().to_string()
}

/// Splits `fw_<id>_<secret>` into its id and secret; `None` if it is not of that shape.
pub fn parse_token(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix(TOKEN_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let ok_id = !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
    (ok_id && !secret.is_empty() && secret.len() <= 128).then_some((id, secret))
}

/// Whether `secret` hashes to `stored_hash`, compared in constant time (`blake3::Hash`'s
/// equality is constant-time).
pub fn secret_matches(secret: &str, stored_hash: &str) -> bool {
    match blake3::Hash::from_hex(stored_hash) {
        Ok(stored) => blake3::hash(secret.as_bytes()) == stored,
        Err(_) => false,
    }
}

/// Hashes a password with Argon2id (default parameters) into a PHC string.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Ok(argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Whether `password` matches a PHC string made by [`hash_password`].
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// The most Argon2 memory a stored hash may ask of [`verify_password_in`] (64 MiB; ours take
/// 19 MiB), so that a hand-edited store cannot make one check take gigabytes.
pub const MAX_ARGON2_BLOCKS: usize = 64 * 1024;

/// As [`verify_password`], with Argon2's working memory in `memory` (grown as needed, never
/// shrunk) instead of a fresh 19 MiB allocation per check. A thread that checks passwords one
/// after another thus keeps one buffer: freeing and reallocating it made the allocator keep
/// copies in the arenas of many threads.
pub fn verify_password_in(password: &str, phc: &str, memory: &mut Vec<argon2::Block>) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let Ok(algorithm) = argon2::Algorithm::try_from(hash.algorithm) else {
        return false;
    };
    let version = match hash.version.map(argon2::Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = argon2::Params::try_from(&hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let blocks = params.block_count();
    if blocks > MAX_ARGON2_BLOCKS {
        return false;
    }
    if memory.len() < blocks {
        memory.resize(blocks, argon2::Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    argon2::Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut memory[..blocks])
        .is_ok()
        // `Output`'s equality is constant-time.
        && argon2::password_hash::Output::new(&out).is_ok_and(|computed| computed == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        let t = new_token();
        let (id, secret) = parse_token(&t.token).unwrap();
        assert_eq!(id, t.id);
        assert!(secret_matches(secret, &t.hash));
        assert!(!secret_matches("guess", &t.hash));
        assert!(!secret_matches(secret, "not hex"));
        assert_ne!(new_token().token, t.token);
        for bad in [
            "",
            "fw_",
            "fw_abc",
            "xx_abc_def",
            "fw_zz_secret",
            "fw__secret",
        ] {
            assert!(parse_token(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn passwords_round_trip() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("wrong", &phc));
        assert!(!verify_password("x", "garbage"));
        let mut memory = Vec::new();
        for _ in 0..2 {
            assert!(verify_password_in("correct horse", &phc, &mut memory));
            assert!(!verify_password_in("wrong", &phc, &mut memory));
        }
        assert!(!verify_password_in("x", "garbage", &mut memory));
        assert_eq!(memory.len(), 19 * 1024);
    }
}
