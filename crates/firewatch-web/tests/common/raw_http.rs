//! Raw HTTP/1.1 over tokio sockets, without tokio's `io-util`: for tests that need connections
//! a client library would not make (silent, half-sent, trickled).
#![allow(dead_code)]

use std::io::ErrorKind;
use tokio::net::TcpStream;

/// Writes all of `buf`.
pub async fn write_all(stream: &TcpStream, mut buf: &[u8]) -> std::io::Result<()> {
    while !buf.is_empty() {
        stream.writable().await?;
        match stream.try_write(buf) {
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads once (at least one byte, or 0 at the end).
pub async fn read_some(stream: &TcpStream, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        stream.readable().await?;
        match stream.try_read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
}

/// Reads until the peer closes.
pub async fn read_to_end(stream: &TcpStream, out: &mut Vec<u8>) -> std::io::Result<()> {
    let mut buf = [0u8; 8192];
    loop {
        match read_some(stream, &mut buf).await? {
            0 => return Ok(()),
            n => out.extend_from_slice(&buf[..n]),
        }
    }
}
