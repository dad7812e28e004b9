//! Issue 16: the README's commands, run in order on a fresh store after the demo, print
//! non-empty answers. The commands are read from README.md itself, so a changed README is
//! tested as it reads; each command this test cannot run here is named with the test that
//! covers it instead.

mod common;

use common::Sandbox;
use std::path::Path;

/// Commands of the README's "Using it" block that need what a test machine lacks (a file of
/// the reader's own, a long-running service, the network), and the tests that cover them.
const NOT_RUN_HERE: &[(&str, &str)] = &[
    (
        "ingest pcap telescope-",
        "the reader's capture; tests/cli.rs ingests",
    ),
    (
        "ingest pcap day.pcap",
        "the reader's capture; tests/cli.rs (flowtuples)",
    ),
    (
        "feeds ingest reports/",
        "the reader's reports; tests/feeds.rs",
    ),
    ("feeds watch", "runs until stopped; tests/feeds.rs"),
    (
        "feeds fetch",
        "needs the network; firewatch-pipeline's collector tests",
    ),
    ("data update", "the reader's registry file; tests/cli.rs"),
    ("serve", "runs until stopped; tests/serve.rs"),
    (
        "notify run",
        "needs [notify] and a mail server; tests/notify.rs",
    ),
    ("import stix", "a partner's bundle; tests/share.rs"),
    (
        "inputs forget",
        "forgets the demo's capture; tests/store_issue_22.rs",
    ),
    (
        "users add",
        "reads a password from standard input; tests/serve.rs",
    ),
    ("tokens create", "needs the user above; tests/serve.rs"),
    (
        "cases mail",
        "needs [notify] with a signing key; tests/case_mail.rs",
    ),
    ("mail receive", "the reader's mail; tests/case_mail.rs"),
];

/// The commands of the first `sh` block after "## Using it", without their comments.
fn readme_commands(readme: &str) -> Vec<String> {
    let using = readme
        .split("## Using it")
        .nth(1)
        .expect("README has a Using it section");
    let block = using
        .split("```sh")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a sh block");
    block
        .lines()
        .map(|l| match l.find(" #") {
            Some(i) => l[..i].trim(),
            None => l.trim(),
        })
        .filter(|l| l.starts_with("firewatch "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_readme_commands_answer_on_the_demo_store() {
    let sb = Sandbox::new();
    let db = "firewatch.db";
    let demo = sb
        .cmd(db)
        .arg("demo")
        .current_dir(sb.dir.path())
        .output()
        .unwrap();
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(repo.join("README.md")).unwrap();
    let commands = readme_commands(&readme);
    assert!(commands.len() > 20, "{commands:?}");
    let alert = sb.json(db, &["alerts", "list", "--limit", "1"])[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut ran = 0;
    let mut failed = Vec::new();
    for command in &commands {
        let rest = command.trim_start_matches("firewatch ");
        if let Some((_, why)) = NOT_RUN_HERE.iter().find(|(p, _)| rest.starts_with(p)) {
            println!("not run here: {command} ({why})");
            continue;
        }
        assert!(!rest.contains("&&"), "{command}: one command per line");
        // The README's placeholder alert id, and where output is redirected.
        let (rest, redirect) = match rest.split_once(" > ") {
            Some((r, file)) => (r, Some(file.trim())),
            None => (rest, None),
        };
        let rest = rest.replace(" ID ", &format!(" {alert} "));
        let args = shell_words(&rest);
        let mut cmd = sb.cmd(db);
        cmd.current_dir(sb.dir.path()).args(&args);
        // Files the README names live in the repository (examples/).
        if args.first().map(String::as_str) == Some("teams")
            || args.starts_with(&["assess".to_owned(), "import".to_owned()])
        {
            cmd.current_dir(&repo);
        }
        let out = cmd.output().unwrap();
        ran += 1;
        if !out.status.success() {
            failed.push(format!(
                "{command}: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
            continue;
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let answered = match (redirect, written_file(&args).map(|f| sb.path(f))) {
            (Some(_), _) => text.lines().count() > 1,
            (None, Some(file)) => file.exists(),
            (None, None) => !text.trim().is_empty() && !text.contains("(none)"),
        };
        if !answered {
            failed.push(format!("{command}: an empty answer\n{text}"));
        }
    }
    println!("{ran} of {} README commands ran", commands.len());
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    assert!(ran >= 20, "most of the README runs here");
}

/// The file a command writes (`--out F`, `-o F`, or a directory after `export misp` options).
fn written_file(args: &[String]) -> Option<&str> {
    args.windows(2)
        .find(|w| w[0] == "--out" || w[0] == "-o")
        .map(|w| w[1].as_str())
        .or_else(|| {
            (args.first().map(String::as_str) == Some("export")
                && args.get(1).map(String::as_str) == Some("misp"))
            .then(|| args.last().map(String::as_str))
            .flatten()
        })
}

/// Splits a README command line into arguments: whitespace, with '…' quoting.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    words.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            c => {
                word.push(c);
                any = true;
            }
        }
    }
    if any {
        words.push(word);
    }
    words
}
