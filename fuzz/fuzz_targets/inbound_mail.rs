#![no_main]
//! Any bytes as a received e-mail (`firewatch mail receive`): `read_mail` must not panic, a
//! message it accepts has a Message-ID, and checking its signature (if it has one) against a
//! key that cannot be read says so rather than panicking.

use firewatch_notify::inbound::{DEFAULT_MAX_BYTES, SignatureCheck, read_mail, verify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(mail) = read_mail(data, DEFAULT_MAX_BYTES) {
        assert!(!mail.message_id.is_empty());
        if let Some(signed) = &mail.signed {
            assert!(matches!(
                verify(signed, "not a key"),
                SignatureCheck::Unverified { .. }
            ));
        }
    }
});
