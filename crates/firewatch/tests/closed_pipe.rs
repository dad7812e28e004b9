//! Issue 15: a listing read by `head` ends quietly with exit 0 when the reader closes the pipe,
//! instead of panicking on the write.

mod common;

use common::Sandbox;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

#[test]
fn issue_15_listing_into_a_closed_pipe_exits_zero() {
    let sb = Sandbox::new();
    sb.synth("a.pcap", 60_000, &[]);
    sb.cmd("fw.db")
        .args(["ingest", "pcap"])
        .arg(sb.path("a.pcap"))
        .assert()
        .success();
    // The JSON listing holds every source: far more than a pipe buffer, so the writes after
    // the reader is gone fail with EPIPE.
    let mut child = sb
        .background("fw.db")
        .args(["sources", "list", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the listing");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("first line");
    assert_eq!(first.trim(), "[", "a JSON array begins: {first:?}");
    drop(stdout);
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.trim().is_empty(), "nothing to say: {stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}
