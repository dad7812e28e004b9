//! Case mail both ways (issue 19), through the binary: `cases mail` queues a signed (and,
//! where the directory has the team's key, encrypted) message with the case's tag and a
//! Message-ID; `notify run` hands it to a real SMTP server (aiosmtpd); gpg checks and
//! decrypts what arrived. Replies built and signed by gpg come back through `mail receive`:
//! matched by tag, or by References when the tag was lost; a forged signature is recorded as
//! unverified and counts for nothing; a second delivery is dropped; a mail for no case
//! becomes a report; a reply to a closed case opens it again; broken or huge mail is refused
//! saying why.

#[path = "../../firewatch-notify/tests/common/mod.rs"]
mod common;

use assert_cmd::Command;
use common::{Gpg, SmtpSink, entity, received, unqp};
use serde_json::Value;
use std::path::Path;

const PASS: &str = "case mail key passphrase";

fn firewatch(work: &Path) -> Command {
    let mut cmd = Command::cargo_bin("firewatch").unwrap();
    cmd.env("FIREWATCH_DB", work.join("store.db"))
        .env("FIREWATCH_CONFIG", work.join("firewatch.toml"))
        .env("FIREWATCH_NOTIFY_KEY_PASSPHRASE", PASS)
        .env_remove("FIREWATCH_CRASH_AT")
        .current_dir(work);
    cmd
}

fn json(work: &Path, args: &[&str]) -> Value {
    let out = firewatch(work).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn receive(work: &Path, mail: &[u8]) -> Value {
    let out = firewatch(work)
        .args(["mail", "receive", "--json"])
        .write_stdin(mail.to_vec())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mail receive: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A PGP/MIME signed reply (RFC 3156), signed by `signer` with its key `fpr`.
#[allow(clippy::too_many_arguments)]
fn signed_reply(
    signer: &Gpg,
    fpr: &str,
    from: &str,
    message_id: &str,
    subject: &str,
    references: &[&str],
    date: &str,
    text: &str,
) -> Vec<u8> {
    let entity = format!("Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n");
    let out = signer.run(
        &[
            "--passphrase",
            PASS,
            "--local-user",
            fpr,
            "--armor",
            "--detach-sign",
            "--digest-algo",
            "SHA256",
        ],
        Some(entity.as_bytes()),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let signature = String::from_utf8(out.stdout).unwrap().replace('\n', "\r\n");
    let mut head = format!(
        "From: {from}\r\nTo: Coordination <cert@coord.example>\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\nDate: {date}\r\nMIME-Version: 1.0\r\n"
    );
    if let Some(last) = references.last() {
        head.push_str(&format!("In-Reply-To: <{last}>\r\n"));
        let all: Vec<String> = references.iter().map(|r| format!("<{r}>")).collect();
        head.push_str(&format!("References: {}\r\n", all.join(" ")));
    }
    format!(
        "{head}Content-Type: multipart/signed; micalg=pgp-sha256; protocol=\"application/pgp-signature\"; boundary=\"b-1\"\r\n\r\n--b-1\r\n{entity}\r\n--b-1\r\nContent-Type: application/pgp-signature; name=\"signature.asc\"\r\n\r\n{signature}\r\n--b-1--\r\n"
    )
    .into_bytes()
}

#[test]
fn case_mail_goes_out_signed_and_replies_come_back_into_the_case() {
    if !common::tools_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    // The coordinator's signing key, and two parties' keys (the third has none).
    let coord = Gpg::new();
    let coord_fpr = coord.generate("Coordination CERT <cert@coord.example>", PASS);
    std::fs::write(
        work.join("sender.asc"),
        coord.export_secret(&coord_fpr, PASS),
    )
    .unwrap();
    let jp = Gpg::new();
    let jp_fpr = jp.generate("JP CERT <soc@jp.example>", PASS);
    jp.import(&coord.export_public(&coord_fpr), "");
    let ke = Gpg::new();
    let ke_fpr = ke.generate("KE CIRT <soc@ke.example>", PASS);
    let mallory = Gpg::new();
    let mallory_fpr = mallory.generate("Not KE <soc@ke.example>", PASS);
    let key_line = |gpg: &Gpg, fpr: &str| {
        format!(
            "openpgp = {{ fingerprint = \"{fpr}\", armored = '''\n{}''' }}",
            gpg.export_public(fpr)
        )
    };
    std::fs::write(
        work.join("teams.toml"),
        format!(
            r#"
[[teams]]
id = "coord"
name = "Coordination CERT"
kind = "national-csirt"
max_tlp = "red"
contacts = [{{ kind = "email", value = "cert@coord.example" }}]

[[teams]]
id = "jp"
name = "JP CERT"
kind = "national-csirt"
country = "JP"
max_tlp = "amber"
contacts = [{{ kind = "email", value = "soc@jp.example" }}]
{}

[[teams]]
id = "ke"
name = "KE CIRT"
kind = "national-csirt"
country = "KE"
max_tlp = "amber"
contacts = [{{ kind = "email", value = "soc@ke.example" }}]
{}

[[teams]]
id = "br"
name = "BR CERT"
kind = "national-csirt"
country = "BR"
max_tlp = "amber"
contacts = [{{ kind = "email", value = "soc@br.example" }}]
"#,
            key_line(&jp, &jp_fpr),
            key_line(&ke, &ke_fpr)
        ),
    )
    .unwrap();
    let outbox = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(outbox.path(), None);
    std::fs::write(
        work.join("firewatch.toml"),
        format!(
            r#"
[notify]
sender_team = "coord"
from = "Coordination CERT <cert@coord.example>"
signing_key = "sender.asc"
signing_key_passphrase_env = "FIREWATCH_NOTIFY_KEY_PASSPHRASE"
timeout_secs = 10
[notify.smtp]
host = "127.0.0.1"
port = {}
starttls = "none"
"#,
            sink.port
        ),
    )
    .unwrap();
    firewatch(work)
        .args(["teams", "import", "teams.toml"])
        .assert()
        .success();
    firewatch(work)
        .args([
            "cases",
            "open",
            "--title",
            "tcp/5555 spike",
            "--coordinator",
            "coord",
        ])
        .args(["--tlp", "amber"])
        .assert()
        .success();
    for (team, addr) in [
        ("jp", "192.0.2.7"),
        ("ke", "198.51.100.9"),
        ("br", "203.0.113.5"),
    ] {
        firewatch(work)
            .args(["cases", "party", "1", team, "--role", "affected"])
            .assert()
            .success();
        firewatch(work)
            .args(["cases", "observe", "1", "address", addr, "--team", team])
            .assert()
            .success();
        firewatch(work)
            .args(["cases", "mail", "1", team, "--body"])
            .arg(format!("Please look at {addr} in your network."))
            .assert()
            .success();
    }
    firewatch(work).args(["notify", "run"]).assert().success();
    let mails = received(outbox.path());
    assert_eq!(mails.len(), 3, "one mail per party");
    let reader = Gpg::new();
    reader.import(&coord.export_public(&coord_fpr), "");
    let mut jp_message_id = String::new();
    for raw in &mails {
        let top = entity(raw);
        let subject = top.header("subject").unwrap();
        assert!(subject.starts_with("[Firewatch #1] "), "{subject}");
        let to = top.header("to").unwrap();
        let ct = top.header("content-type").unwrap();
        // Encrypted where the directory has the team's key (JP, KE): the team decrypts it.
        let decrypted;
        let signed: &[u8] = if ct.starts_with("multipart/encrypted") {
            assert!(!to.contains("soc@br.example"), "BR has no key");
            let gpg = if to.contains("soc@jp.example") {
                &jp
            } else {
                &ke
            };
            decrypted = gpg.decrypt(entity(top.parts()[1]).body, PASS);
            &decrypted
        } else {
            assert!(to.contains("soc@br.example"), "{to}: not encrypted");
            raw
        };
        let signed_entity = entity(signed);
        let parts = signed_entity.parts();
        assert_eq!(parts.len(), 2, "signed content and signature");
        let signer = reader
            .verify(entity(parts[1]).body, parts[0])
            .expect("a good signature");
        assert_eq!(signer, coord_fpr);
        let content = entity(parts[0]);
        let text = String::from_utf8(unqp(entity(content.parts()[0]).body)).unwrap();
        if to.contains("soc@jp.example") {
            jp_message_id = top.header("message-id").unwrap().trim().to_owned();
            assert!(
                text.contains("192.0.2.7") && !text.contains("203.0.113.5"),
                "{text}"
            );
        } else if to.contains("soc@br.example") {
            assert!(
                text.contains("203.0.113.5") && !text.contains("192.0.2.7"),
                "{text}"
            );
        }
    }
    assert!(jp_message_id.starts_with('<'));
    let jp_sent = jp_message_id.trim_matches(['<', '>']).to_owned();
    let show = json(work, &["cases", "show", "1", "--json"]);
    for party in show["parties"].as_array().unwrap().iter().skip(1) {
        assert_eq!(party["status"], "notified", "{party}");
    }

    // JP answers, signed, with the tag lost: threaded by References, acknowledged.
    let now = jiff::Timestamp::now();
    let date = jiff::fmt::rfc2822::to_string(&now.to_zoned(jiff::tz::TimeZone::UTC)).unwrap();
    let reply = signed_reply(
        &jp,
        &jp_fpr,
        "JP CERT <soc@jp.example>",
        "r1@jp.example",
        "Re: cleaning",
        &[&jp_sent],
        &date,
        "We are on it.",
    );
    let got = receive(work, &reply);
    assert_eq!(got["outcome"], "threaded", "{got}");
    assert_eq!(got["matched_by"], "references");
    assert_eq!(got["signature"], "verified");
    assert_eq!(got["acknowledged"], true);
    assert_eq!(receive(work, &reply)["outcome"], "duplicate");

    // KE "answers" with a signature by another key: recorded, unverified, not counted.
    let forged = signed_reply(
        &mallory,
        &mallory_fpr,
        "KE CIRT <soc@ke.example>",
        "r2@ke.example",
        "Re: [Firewatch #1] tcp/5555 spike",
        &[],
        &date,
        "Done, trust us.",
    );
    let got = receive(work, &forged);
    assert_eq!(got["matched_by"], "tag");
    assert_eq!(got["signature"], "unverified");
    assert_eq!(got["acknowledged"], false);

    let show = json(work, &["cases", "show", "1", "--json"]);
    let status = |team: &str| {
        show["parties"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["team"] == team)
            .map(|p| p["status"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(status("jp"), "acknowledged");
    assert_eq!(status("ke"), "notified");
    assert_eq!(status("br"), "notified", "BR never answered");
    let figures = show["figures"].as_array().unwrap();
    let jp_figure = figures.iter().find(|f| f["team"] == "jp").unwrap();
    assert!(jp_figure["time_to_acknowledge_secs"].as_i64().unwrap() >= 0);
    assert!(
        figures.iter().find(|f| f["team"] == "ke").unwrap()["time_to_acknowledge_secs"].is_null()
    );
    let timeline = json(work, &["cases", "timeline", "1", "--json"]);
    let messages: Vec<&Value> = timeline
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["change"]["kind"] == "message")
        .collect();
    assert_eq!(messages.len(), 5, "3 out, 2 in");
    let ke_in = messages
        .iter()
        .find(|m| m["change"]["team"] == "ke" && m["change"]["direction"] == "in")
        .unwrap();
    assert!(
        ke_in["change"]["note"]
            .as_str()
            .unwrap()
            .contains("not made by the team's key")
    );
    // JP sees its own thread, not KE's.
    let jp_view = json(work, &["cases", "timeline", "1", "--team", "jp", "--json"]);
    let text = jp_view.to_string();
    assert!(text.contains("r1@jp.example") && !text.contains("r2@ke.example"));

    // A mail that answers nothing we hold: a new report to triage.
    let stray = b"From: someone@else.example\r\nTo: cert@coord.example\r\nSubject: Phishing site\r\nMessage-ID: <s1@else.example>\r\n\r\nhttp://bad.example/\r\n";
    let got = receive(work, stray);
    assert_eq!(got["outcome"], "report");
    assert_eq!(got["case"], 2);

    // A reply to a closed case opens it again.
    firewatch(work)
        .args(["cases", "close", "1", "--determination", "confirmed"])
        .assert()
        .success();
    let again = signed_reply(
        &jp,
        &jp_fpr,
        "JP CERT <soc@jp.example>",
        "r3@jp.example",
        "Re: [Firewatch #1] tcp/5555 spike",
        &["r1@jp.example"],
        &date,
        "Two more hosts found.",
    );
    let got = receive(work, &again);
    assert_eq!(got["reopened"], true, "{got}");
    assert_eq!(
        json(work, &["cases", "show", "1", "--json"])["status"],
        "in-progress"
    );

    // Broken or huge mail: refused, saying why; nothing recorded.
    let broken = b"From: a@b.example\r\nMessage-ID: <x@y>\r\nContent-Type: multipart/signed; boundary=zz\r\n\r\n--zz\r\nonly one part\r\n--zz--\r\n";
    let out = firewatch(work)
        .args(["mail", "receive"])
        .write_stdin(broken.to_vec())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken MIME"));
    let mut huge = b"From: a@b.example\r\nMessage-ID: <big@y>\r\nSubject: big\r\n\r\n".to_vec();
    huge.resize(25 * 1024 * 1024, b'a');
    let out = firewatch(work)
        .args(["mail", "receive"])
        .write_stdin(huge)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("more than the"));
    assert_eq!(
        json(work, &["cases", "list", "--json"])
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Service levels: a critical case whose party was told 2 h ago (acknowledge within 1 h)
    // is overdue, is reminded once by mail, and counts in the figures.
    firewatch(work)
        .args([
            "cases",
            "open",
            "--title",
            "ransomware C2",
            "--coordinator",
            "coord",
        ])
        .args(["--severity", "critical", "--tlp", "amber", "--at", "3h"])
        .assert()
        .success();
    firewatch(work)
        .args(["cases", "party", "3", "br", "--role", "affected"])
        .args(["--status", "notified", "--at", "2h"])
        .assert()
        .success();
    let late = json(work, &["cases", "overdue", "--json"]);
    let br = late
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["case"] == 3)
        .expect("case 3's party is overdue");
    assert_eq!(br["team"], "br");
    assert_eq!(br["due"], "acknowledge");
    assert_eq!(br["reminded"], false);
    let late_secs = br["late_secs"].as_i64().unwrap();
    assert!((3600..3700).contains(&late_secs), "{late_secs}");
    let before = received(outbox.path()).len();
    firewatch(work).args(["cases", "remind"]).assert().success();
    let again = firewatch(work).args(["cases", "remind"]).output().unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("no overdue party left"));
    firewatch(work).args(["notify", "run"]).assert().success();
    let mails = received(outbox.path());
    let reminders: Vec<String> = mails[before..]
        .iter()
        .map(|raw| entity(raw).header("subject").unwrap())
        .filter(|s| s.contains("Reminder"))
        .collect();
    assert_eq!(
        reminders,
        ["[Firewatch #3] Reminder: ransomware C2"],
        "reminded once"
    );
    let late = json(work, &["cases", "overdue", "--json"]);
    assert!(
        late.as_array()
            .unwrap()
            .iter()
            .any(|o| o["case"] == 3 && o["reminded"] == true)
    );

    let stats = json(work, &["cases", "stats", "--json"]);
    let row = |team: &str| {
        stats
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["group"] == team)
            .unwrap_or_else(|| panic!("no row for {team}: {stats}"))
            .clone()
    };
    assert_eq!(row("jp")["acknowledged"], 1);
    assert_eq!(
        row("ke")["acknowledged"],
        0,
        "an unverified reply does not count"
    );
    assert_eq!(row("br")["parties"], 2);
    assert_eq!(row("br")["overdue"], 1);
}
