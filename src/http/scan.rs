//! A cheap look at a JSON text before anything parses it.
//!
//! serde_json turns every JSON value into a 32-byte `Value` (more inside maps), so a 4 MiB
//! array of two million zeros became hundreds of MiB once rmcp and the handlers had parsed
//! and copied it. [`Scanner`] walks the bytes once, keeps no more than a bit per nesting
//! level, and refuses a text with more values or deeper nesting than any tool call needs,
//! before any parse tree exists. It checks the grammar (brackets, commas, colons, string
//! escapes, number syntax, literals), so the byte it names as an error is a real one; the
//! parser that runs afterwards still has the last word on UTF-8 and number ranges.
//!
//! Public so that code decoding JSON held inside a string (an argument sent as text) can
//! apply the same limits before parsing it.

/// Deepest nesting of arrays and objects accepted. An MCP request is about four levels
/// deep before the tool arguments start; their own objects rarely add more than three.
pub(crate) const MAX_DEPTH: usize = 32;

/// Most JSON values (each scalar, array, object and object key) accepted in one message.
/// The largest tool call (a long list of tags, a wide `additional_fields`) needs a few
/// hundred; at about 100 bytes per parsed value this caps a parse tree near 1 MiB.
pub(crate) const MAX_VALUES: usize = 10_000;

/// Why a text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ScanError {
    /// Not JSON: the byte at this offset (or the end of the text) is where it breaks.
    #[error("invalid JSON at byte {0}")]
    Syntax(usize),
    /// Arrays and objects nested deeper than the limit.
    #[error("JSON nested deeper than {0} levels")]
    TooDeep(usize),
    /// More values than the limit.
    #[error("more than {0} JSON values")]
    TooManyValues(usize),
}

/// What a complete scan saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stats {
    /// The first byte of the top-level value (`{` for an object, `[` for an array...).
    pub(crate) top: u8,
    /// Values seen (keys included).
    pub(crate) values: usize,
    /// Deepest nesting seen.
    pub(crate) depth: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A value (at the start, after `:`, after `,` in an array).
    Value,
    /// A value or `]` (right after `[`).
    ValueOrClose,
    /// A key or `}` (right after `{`).
    KeyOrClose,
    /// A key (after `,` in an object).
    Key,
    /// `:` after a key.
    Colon,
    /// `,` or the container's closing bracket, after a value.
    Next,
    /// Only whitespace, after the top-level value.
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    None,
    /// Inside a string; `key` when it is an object key.
    Str {
        key: bool,
        escape: Escape,
    },
    /// Inside a number.
    Num(Num),
    /// Inside `true`, `false` or `null`: the bytes still expected.
    Lit(&'static [u8]),
}

/// Where in `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?` a number is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Num {
    Minus,
    Zero,
    Int,
    Dot,
    Frac,
    E,
    ESign,
    Exp,
}

impl Num {
    fn next(self, b: u8) -> Option<Num> {
        use Num::*;
        Some(match (self, b) {
            (Minus, b'0') => Zero,
            (Minus, b'1'..=b'9') => Int,
            (Int, b'0'..=b'9') => Int,
            (Zero | Int, b'.') => Dot,
            (Dot | Frac, b'0'..=b'9') => Frac,
            (Zero | Int | Frac, b'e' | b'E') => E,
            (E, b'+' | b'-') => ESign,
            (E | ESign | Exp, b'0'..=b'9') => Exp,
            _ => return None,
        })
    }

    /// True when the number may end here.
    fn complete(self) -> bool {
        matches!(self, Num::Zero | Num::Int | Num::Frac | Num::Exp)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escape {
    No,
    /// Right after a backslash.
    Start,
    /// This many hex digits of `\uXXXX` still to come.
    Hex(u8),
}

/// An incremental scanner: [`feed`](Scanner::feed) it the text in pieces, then
/// [`finish`](Scanner::finish).
#[derive(Debug, Clone)]
pub(crate) struct Scanner {
    max_depth: usize,
    max_values: usize,
    /// One entry per open container: true for an object.
    stack: Vec<bool>,
    expect: Expect,
    token: Token,
    offset: usize,
    values: usize,
    depth: usize,
    top: Option<u8>,
}

impl Default for Scanner {
    fn default() -> Self {
        Self::new(MAX_DEPTH, MAX_VALUES)
    }
}

impl Scanner {
    /// A scanner with these limits.
    pub(crate) fn new(max_depth: usize, max_values: usize) -> Self {
        Self {
            max_depth,
            max_values,
            stack: Vec::new(),
            expect: Expect::Value,
            token: Token::None,
            offset: 0,
            values: 0,
            depth: 0,
            top: None,
        }
    }

    /// Scans the next piece of the text.
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> Result<(), ScanError> {
        let mut i = 0;
        while i < chunk.len() {
            let b = chunk[i];
            match self.token {
                Token::Str { key, escape } => {
                    if escape == Escape::No {
                        // The common case, a run of plain string bytes, without the match.
                        let run = chunk[i..]
                            .iter()
                            .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
                            .unwrap_or(chunk.len() - i);
                        i += run;
                        if i == chunk.len() {
                            break;
                        }
                    }
                    self.string_byte(chunk[i], i, key, escape)?;
                    i += 1;
                }
                Token::Num(n) => match n.next(b) {
                    Some(n) => {
                        self.token = Token::Num(n);
                        i += 1;
                    }
                    // The number ended; this byte belongs to what follows it.
                    None if n.complete() => {
                        self.token = Token::None;
                        self.expect = Expect::Next;
                    }
                    None => return Err(self.syntax(i)),
                },
                Token::Lit(rest) => {
                    if b != rest[0] {
                        return Err(self.syntax(i));
                    }
                    self.token = if rest.len() == 1 {
                        self.expect = Expect::Next;
                        Token::None
                    } else {
                        Token::Lit(&rest[1..])
                    };
                    i += 1;
                }
                Token::None => {
                    self.structural(b, i)?;
                    i += 1;
                }
            }
        }
        self.offset += chunk.len();
        Ok(())
    }

    /// Ends the scan: the text must hold one complete value.
    pub(crate) fn finish(mut self) -> Result<Stats, ScanError> {
        if let Token::Num(n) = self.token
            && n.complete()
        {
            self.token = Token::None;
            self.expect = Expect::Next;
        }
        if self.expect == Expect::Next && self.stack.is_empty() {
            self.expect = Expect::End;
        }
        match (self.expect, self.token, self.top) {
            (Expect::End, Token::None, Some(top)) => Ok(Stats {
                top,
                values: self.values,
                depth: self.depth,
            }),
            _ => Err(ScanError::Syntax(self.offset)),
        }
    }

    fn syntax(&self, i: usize) -> ScanError {
        ScanError::Syntax(self.offset + i)
    }

    fn count(&mut self) -> Result<(), ScanError> {
        self.values += 1;
        if self.values > self.max_values {
            return Err(ScanError::TooManyValues(self.max_values));
        }
        Ok(())
    }

    fn string_byte(&mut self, b: u8, i: usize, key: bool, escape: Escape) -> Result<(), ScanError> {
        let bad = || ScanError::Syntax(self.offset + i);
        let escape = match escape {
            Escape::No => match b {
                b'"' => {
                    self.token = Token::None;
                    self.expect = if key { Expect::Colon } else { Expect::Next };
                    return Ok(());
                }
                b'\\' => Escape::Start,
                _ => return Err(bad()), // a raw control character
            },
            Escape::Start => match b {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Escape::No,
                b'u' => Escape::Hex(4),
                _ => return Err(bad()),
            },
            Escape::Hex(n) if b.is_ascii_hexdigit() => {
                if n == 1 {
                    Escape::No
                } else {
                    Escape::Hex(n - 1)
                }
            }
            Escape::Hex(_) => return Err(bad()),
        };
        self.token = Token::Str { key, escape };
        Ok(())
    }

    fn structural(&mut self, b: u8, i: usize) -> Result<(), ScanError> {
        if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            return Ok(());
        }
        match self.expect {
            Expect::Value | Expect::ValueOrClose => {
                if b == b']' && self.expect == Expect::ValueOrClose {
                    return self.close(false, i);
                }
                self.value_start(b, i)
            }
            Expect::KeyOrClose | Expect::Key => {
                if b == b'}' && self.expect == Expect::KeyOrClose {
                    return self.close(true, i);
                }
                if b != b'"' {
                    return Err(self.syntax(i));
                }
                self.count()?;
                self.token = Token::Str {
                    key: true,
                    escape: Escape::No,
                };
                Ok(())
            }
            Expect::Colon if b == b':' => {
                self.expect = Expect::Value;
                Ok(())
            }
            Expect::Next => match (b, self.stack.last()) {
                (b',', Some(true)) => {
                    self.expect = Expect::Key;
                    Ok(())
                }
                (b',', Some(false)) => {
                    self.expect = Expect::Value;
                    Ok(())
                }
                (b'}', Some(true)) => self.close(true, i),
                (b']', Some(false)) => self.close(false, i),
                _ => Err(self.syntax(i)),
            },
            Expect::Colon | Expect::End => Err(self.syntax(i)),
        }
    }

    fn value_start(&mut self, b: u8, i: usize) -> Result<(), ScanError> {
        self.top.get_or_insert(b);
        match b {
            b'{' | b'[' => {
                if self.stack.len() >= self.max_depth {
                    return Err(ScanError::TooDeep(self.max_depth));
                }
                self.count()?;
                self.stack.push(b == b'{');
                self.depth = self.depth.max(self.stack.len());
                self.expect = if b == b'{' {
                    Expect::KeyOrClose
                } else {
                    Expect::ValueOrClose
                };
            }
            b'"' => {
                self.count()?;
                self.token = Token::Str {
                    key: false,
                    escape: Escape::No,
                };
            }
            b'-' | b'0'..=b'9' => {
                self.count()?;
                self.token = Token::Num(match b {
                    b'-' => Num::Minus,
                    b'0' => Num::Zero,
                    _ => Num::Int,
                });
            }
            b't' | b'f' | b'n' => {
                self.count()?;
                self.token = Token::Lit(match b {
                    b't' => b"rue",
                    b'f' => b"alse",
                    _ => b"ull",
                });
            }
            _ => return Err(self.syntax(i)),
        }
        Ok(())
    }

    fn close(&mut self, object: bool, i: usize) -> Result<(), ScanError> {
        if self.stack.pop() != Some(object) {
            return Err(self.syntax(i));
        }
        self.expect = if self.stack.is_empty() {
            Expect::End
        } else {
            Expect::Next
        };
        Ok(())
    }
}

/// Scans a whole text with the default limits.
#[cfg(test)]
pub(crate) fn scan(text: &[u8]) -> Result<Stats, ScanError> {
    let mut s = Scanner::default();
    s.feed(text)?;
    s.finish()
}

#[cfg(test)]
mod tests;
