//! Users, API tokens and browser sessions.

use firewatch_store::{IdentityStore, SessionStore, StoreError};

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Users and tokens round-trip; a taken name, a token id taken or of no user, and a second
/// revocation are refused; removing a user takes its tokens and sessions with it.
pub fn users_and_tokens<S: IdentityStore + SessionStore + ?Sized>(s: &mut S) {
    assert!(s.users().unwrap().is_empty());
    assert!(s.tokens().unwrap().is_empty());
    let before = now();
    let ana = s
        .add_user("ana", "cert-a", "member", Some("$argon2id$x"))
        .unwrap();
    assert_eq!(
        (
            ana.id,
            ana.name.as_str(),
            ana.team.as_str(),
            ana.role.as_str()
        ),
        (1, "ana", "cert-a", "member")
    );
    assert_eq!(ana.password_hash.as_deref(), Some("$argon2id$x"));
    assert!((before..=now()).contains(&ana.created_at));
    assert!(matches!(
        s.add_user("ana", "cert-b", "member", None),
        Err(StoreError::InvalidQuery(_))
    ));
    let bob = s.add_user("Bob", "cert-b", "read-only", None).unwrap();
    let zed = s.add_user("zed", "cert-a", "administrator", None).unwrap();
    assert_eq!((bob.id, zed.id), (2, 3));
    assert_eq!(bob.password_hash, None);
    // By name, in byte order: capitals first, whatever the database's locale.
    assert_eq!(
        s.users().unwrap(),
        vec![bob.clone(), ana.clone(), zed.clone()]
    );
    assert_eq!(s.user("ana").unwrap(), Some(ana.clone()));
    assert_eq!(s.user("bob").unwrap(), None, "names are matched exactly");

    let t2 = s.add_token("t2", ana.id, "00ff").unwrap();
    assert_eq!(
        (
            t2.id.as_str(),
            t2.user_id,
            t2.user.as_str(),
            t2.token_hash.as_str()
        ),
        ("t2", ana.id, "ana", "00ff")
    );
    assert_eq!(t2.revoked_at, None);
    assert!((before..=now()).contains(&t2.created_at));
    let t1 = s.add_token("t1", bob.id, "11ee").unwrap();
    assert!(s.add_token("t1", ana.id, "22dd").is_err(), "token id taken");
    assert!(s.add_token("t9", 999, "22dd").is_err(), "no such user");
    let (got, owner) = s.token("t2").unwrap().unwrap();
    assert_eq!((got, owner), (t2.clone(), ana.clone()));
    assert_eq!(s.token("nope").unwrap(), None);
    // Oldest first, then by id.
    let mut expected = vec![t1.clone(), t2.clone()];
    expected.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    assert_eq!(s.tokens().unwrap(), expected);

    assert!(s.revoke_token("t2").unwrap());
    assert!(!s.revoke_token("t2").unwrap(), "revoked already");
    assert!(!s.revoke_token("nope").unwrap());
    let revoked = s.token("t2").unwrap().unwrap().0.revoked_at.unwrap();
    assert!((before..=now()).contains(&revoked));
    assert_eq!(
        s.tokens().unwrap().len(),
        2,
        "revoked tokens are listed too"
    );

    s.add_session("h-ana", ana.id, 100, 200, "tok").unwrap();
    assert!(s.remove_user("ana").unwrap());
    assert!(!s.remove_user("ana").unwrap());
    assert_eq!(
        s.session("h-ana", 150).unwrap(),
        None,
        "the user's sessions go"
    );
    assert_eq!(s.tokens().unwrap(), vec![t1], "the user's tokens go");
    assert_eq!(s.token("t2").unwrap(), None);
    assert_eq!(s.users().unwrap(), vec![bob, zed]);
    // A new user gets the largest id plus one (SQLite's rowid), on both backends.
    assert!(s.remove_user("zed").unwrap());
    assert_eq!(s.add_user("yan", "cert-c", "member", None).unwrap().id, 3);
}

/// Sessions live until they expire (exclusive), end, and are purged once expired.
pub fn sessions<S: IdentityStore + SessionStore + ?Sized>(s: &mut S) {
    let u = s.add_user("ana", "a", "member", None).unwrap();
    s.add_session("h1", u.id, 100, 200, "tok").unwrap();
    let got = s.session("h1", 150).unwrap().unwrap();
    assert_eq!(
        (
            got.id_hash.as_str(),
            got.created_at,
            got.expires_at,
            got.csrf.as_str()
        ),
        ("h1", 100, 200, "tok")
    );
    assert_eq!(got.user, u);
    assert!(s.session("h1", 199).unwrap().is_some());
    assert!(s.session("h1", 200).unwrap().is_none(), "expired");
    assert!(s.session("h2", 150).unwrap().is_none());
    assert!(
        s.add_session("h1", u.id, 100, 300, "x").is_err(),
        "id taken"
    );
    assert!(
        s.add_session("h9", 999, 100, 300, "x").is_err(),
        "no such user"
    );
    assert!(s.remove_session("h1").unwrap());
    assert!(!s.remove_session("h1").unwrap());
    assert!(s.session("h1", 150).unwrap().is_none());

    s.add_session("h3", u.id, 100, 200, "t").unwrap();
    s.add_session("h4", u.id, 100, 300, "t").unwrap();
    s.add_session("h5", u.id, 100, 400, "t").unwrap();
    assert_eq!(
        s.purge_sessions(300).unwrap(),
        2,
        "expired at 300: h3 and h4"
    );
    assert_eq!(s.purge_sessions(300).unwrap(), 0);
    assert!(s.session("h5", 350).unwrap().is_some());
    s.remove_user("ana").unwrap();
    assert!(s.session("h5", 350).unwrap().is_none(), "user removed");
    assert_eq!(s.purge_sessions(i64::MAX).unwrap(), 0, "went with the user");
}

on_both!(
    identity_users_and_tokens,
    crate::accounts::identity::users_and_tokens
);
on_both!(identity_sessions, crate::accounts::identity::sessions);
