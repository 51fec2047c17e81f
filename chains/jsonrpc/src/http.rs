//! Reading an answer: its body, capped, and what to say when there is none (without the
//! URL, which may hold credentials or an API key).

/// Why [`read_body`] has no body.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// The connection failed while the body was read.
    Transport(reqwest::Error),
    /// The body is over the limit (announced or counted).
    TooLarge,
}

/// The response's body, at most `limit` bytes (a broken or hostile endpoint must not
/// exhaust memory).
pub(crate) async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    let announced = response.content_length().unwrap_or(0);
    if announced > limit as u64 {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::with_capacity(usize::try_from(announced).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `: <the body's start>` for an HTTP error answer that may explain itself (TronGrid's
/// `{"Error": "The key exceeds the frequency limit(15), …"}`), or nothing.
pub(crate) fn body_note(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    let mut head: String = text.chars().take(160).collect();
    if head.len() < text.len() {
        head.push('…');
    }
    format!(": {head}")
}

/// Why a request got no answer (timed out, cannot connect, …) with its causes, at most
/// 300 bytes, without the URL reqwest puts in its own message (it may hold an API key or
/// credentials; the endpoint's label names it).
pub(crate) fn transport_error(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "transport error"
    };
    let mut text = format!("{kind}: {}", ErrorChain(e));
    if text.len() > 300 {
        text.truncate(text.floor_char_boundary(300));
    }
    text
}

/// An error and its sources, without the URL reqwest puts in its own message.
struct ErrorChain<'a>(&'a reqwest::Error);

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut source = std::error::Error::source(self.0);
        let mut first = true;
        while let Some(e) = source {
            if !first {
                f.write_str(": ")?;
            }
            write!(f, "{e}")?;
            first = false;
            source = e.source();
        }
        if first {
            f.write_str("request failed")?;
        }
        Ok(())
    }
}
