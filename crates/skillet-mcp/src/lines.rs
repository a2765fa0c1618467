//! Bounded line framing: one message per line, and no line held past a limit.
//!
//! The stdio transport and the daemon's socket (`skillet-server`) both read newline-framed
//! JSON from a peer they do not trust. A line reader that collects until the newline lets that
//! peer make the reader allocate without bound, so this one keeps at most the limit (plus a
//! `\r`), says at once when a line is too long, and skips the rest of it without holding it.

use tokio::io::{AsyncBufReadExt as _, AsyncRead, BufReader};

/// What the next line of a [`LineReader`] was.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A whole line, without its `\n` or `\r\n`. The last line of the input may lack its newline.
    Complete(Vec<u8>),
    /// A line longer than the limit. Its bytes are not kept; the rest of it is skipped before the
    /// next line is read, so a reader can answer it and go on.
    TooLong,
}

/// Reads lines of at most `max` bytes (not counting the line end) from `read`.
///
/// ```
/// # tokio_test_block_on(async {
/// use skillet_mcp::lines::{Line, LineReader};
/// let mut lines = LineReader::new(&b"ok\r\nway too long\nnext"[..], 4);
/// assert_eq!(lines.next().await.unwrap(), Some(Line::Complete(b"ok".to_vec())));
/// assert_eq!(lines.next().await.unwrap(), Some(Line::TooLong));
/// assert_eq!(lines.next().await.unwrap(), Some(Line::Complete(b"next".to_vec())));
/// assert_eq!(lines.next().await.unwrap(), None);
/// # });
/// # fn tokio_test_block_on(f: impl std::future::Future<Output = ()>) {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
pub struct LineReader<R> {
    reader: BufReader<R>,
    max: usize,
    line: Vec<u8>,
    /// Inside a line already reported too long: skip up to its newline.
    skipping: bool,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    /// A reader of lines of at most `max` bytes.
    pub fn new(read: R, max: usize) -> LineReader<R> {
        LineReader {
            reader: BufReader::with_capacity(64 * 1024, read),
            max,
            line: Vec::new(),
            skipping: false,
        }
    }

    /// The next line, or `None` at the end of the input.
    pub async fn next(&mut self) -> std::io::Result<Option<Line>> {
        loop {
            let chunk = self.reader.fill_buf().await?;
            if chunk.is_empty() {
                let skipped = std::mem::replace(&mut self.skipping, false);
                if skipped || self.line.is_empty() {
                    self.line.clear();
                    return Ok(None);
                }
                return Ok(Some(self.finish()));
            }
            let (taken, ends) = match chunk.iter().position(|&b| b == b'\n') {
                Some(at) => (at, true),
                None => (chunk.len(), false),
            };
            let mut over = false;
            if !self.skipping {
                // One byte of room for the `\r` of a `\r\n` line end; checked again at the end.
                if self.line.len() + taken > self.max.saturating_add(1) {
                    self.skipping = true;
                    self.line = Vec::new();
                    over = true;
                } else {
                    self.line.extend_from_slice(&chunk[..taken]);
                }
            }
            self.reader.consume(taken + usize::from(ends));
            if ends {
                let skipped = std::mem::replace(&mut self.skipping, false);
                if over {
                    return Ok(Some(Line::TooLong));
                }
                if !skipped {
                    return Ok(Some(self.finish()));
                }
            } else if over {
                return Ok(Some(Line::TooLong));
            }
        }
    }

    /// The line collected so far, as a [`Line`].
    fn finish(&mut self) -> Line {
        let mut line = std::mem::take(&mut self.line);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if line.len() > self.max {
            Line::TooLong
        } else {
            Line::Complete(line)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn all(input: &[u8], max: usize) -> Vec<Line> {
        let mut lines = LineReader::new(input, max);
        let mut out = Vec::new();
        while let Some(line) = lines.next().await.expect("reading a slice") {
            out.push(line);
        }
        out
    }

    fn complete(text: &str) -> Line {
        Line::Complete(text.as_bytes().to_vec())
    }

    #[tokio::test]
    async fn lines_at_the_limit_are_read_and_longer_ones_reported_once() {
        assert_eq!(
            all(b"abcd\nabcd\r\nabcde\nabcd\r\r\n\n", 4).await,
            [
                complete("abcd"),
                complete("abcd"),
                Line::TooLong,
                Line::TooLong,
                complete("")
            ]
        );
    }

    #[tokio::test]
    async fn a_long_line_across_many_reads_is_skipped_without_being_kept() {
        let mut input = vec![b'x'; 1_000_000];
        input.extend_from_slice(b"\nnext\n");
        input.extend(std::iter::repeat_n(b'[', 300_000));
        assert_eq!(
            all(&input, 100).await,
            [Line::TooLong, complete("next"), Line::TooLong]
        );
    }

    #[tokio::test]
    async fn the_last_line_needs_no_newline_and_bytes_are_kept_as_they_are() {
        assert_eq!(
            all(b"\xff\xfe\nend\r", 8).await,
            [Line::Complete(vec![0xff, 0xfe]), complete("end")]
        );
        assert_eq!(all(b"", 8).await, []);
    }
}
