//! The request framing every API endpoint shares: `Content-Type: application/json`
//! (parameters allowed, a charset other than UTF-8 refused), at most 64 KiB, UTF-8 text.
//! What the JSON means is the component's business.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};

use super::error::{AppError, GatewayCode};

/// Largest request body (the protocol's limit).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A request body that passed the framing rules, as UTF-8 text.
#[derive(Debug)]
pub struct JsonText(pub String);

impl<S: Send + Sync> FromRequest<S> for JsonText {
    type Rejection = AppError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, AppError> {
        check_content_type(req.headers())?;
        if let Some(length) = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            && length > MAX_BODY_BYTES as u64
        {
            return Err(too_large());
        }
        let bytes: Bytes = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|e| {
                if std::error::Error::source(&e)
                    .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
                {
                    too_large()
                } else {
                    AppError::gateway(
                        GatewayCode::InvalidJson,
                        "the request body could not be read",
                    )
                }
            })?;
        let text = String::from_utf8(bytes.into()).map_err(|_| {
            AppError::gateway(
                GatewayCode::InvalidJson,
                "the request body is not UTF-8 text",
            )
        })?;
        Ok(Self(text))
    }
}

fn too_large() -> AppError {
    AppError::gateway(
        GatewayCode::PayloadTooLarge,
        format!("the request body is over {MAX_BODY_BYTES} bytes"),
    )
}

/// `application/json`, any case, optionally with `charset=utf-8`; nothing else.
fn check_content_type(headers: &HeaderMap) -> Result<(), AppError> {
    let refuse = |what: &str| {
        AppError::gateway(
            GatewayCode::UnsupportedMediaType,
            format!("Content-Type must be application/json, not {what}"),
        )
    };
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(refuse("absent"));
    };
    let text = value.to_str().map_err(|_| refuse("unreadable"))?;
    let mime: mime::Mime = text.parse().map_err(|_| refuse(text))?;
    if mime.type_() != mime::APPLICATION || mime.subtype() != mime::JSON || mime.suffix().is_some()
    {
        return Err(refuse(text));
    }
    match mime.get_param(mime::CHARSET) {
        None => Ok(()),
        Some(charset) if charset == mime::UTF_8 => Ok(()),
        Some(_) => Err(refuse(text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn content_types() {
        for ok in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
            "application/json;charset=UTF-8",
            "application/json; charset=\"utf-8\"",
        ] {
            assert!(check_content_type(&with(ok)).is_ok(), "{ok}");
        }
        for bad in [
            "application/x-www-form-urlencoded",
            "text/plain",
            "application/json; charset=latin1",
            "application/jsonx",
            "application/problem+json",
            "multipart/form-data; boundary=x",
            "",
        ] {
            let err = check_content_type(&with(bad)).unwrap_err();
            assert_eq!(err.code(), "UNSUPPORTED_MEDIA_TYPE", "{bad}");
        }
        assert!(check_content_type(&HeaderMap::new()).is_err());
    }
}
