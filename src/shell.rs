//! Values going into a shell command on a host: one word each, quoted where needed.

/// One word for `sh -c`: safe words as they are, anything else single-quoted.
pub fn shell_word(value: &str) -> String {
    // The loader rejects NUL in values, the one thing a POSIX shell cannot quote.
    shlex::try_quote(value).map_or_else(|_| String::from("''"), |q| q.into_owned())
}
