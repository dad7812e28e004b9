//! The one error type of this crate: damage in a capture, with where and why.

/// A capture that cannot be read (further): names the file, the byte offset of the damage in the
/// (decompressed) stream, and the reason.
///
/// Displays as `capture.pcap: byte 1234: pcapng block length 7 is shorter than its header`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: byte {offset}: {reason}")]
pub struct CaptureError {
    /// The file name as given to [`crate::Capture::open`] or [`crate::Capture::from_reader`].
    pub file: String,
    /// Byte offset of the damaged record or header in the (decompressed) stream.
    pub offset: u64,
    /// What is wrong, in words.
    pub reason: String,
}

impl CaptureError {
    /// Builds an error for `file` at byte `offset`.
    pub fn new(file: impl Into<String>, offset: u64, reason: impl Into<String>) -> Self {
        CaptureError {
            file: file.into(),
            offset,
            reason: reason.into(),
        }
    }

    /// The file name the error is about.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Byte offset of the damage in the (decompressed) stream.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Why the capture could not be read.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}
