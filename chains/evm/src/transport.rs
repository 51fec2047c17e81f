//! The EVM dialect of JSON-RPC 2.0 for the shared transport (`usdt-jsonrpc`, which owns
//! the endpoints, retries, backoff and failover): strict envelopes (`"jsonrpc": "2.0"`,
//! the request's id), and the error classes of providers (rate limits, a range or an
//! answer too large, too many addresses; see `classify`).

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use usdt_jsonrpc::{Answer, CallError, Dialect, Verdict};

use crate::RpcError;
use crate::classify::{Class, classify};

/// A call in the EVM dialect; `logs_query` (an `eth_getLogs`) enables the range and
/// address classes of JSON-RPC errors and makes an oversized answer a range too large.
pub(crate) struct Eth {
    logs_query: bool,
}

impl Eth {
    /// Any method but `eth_getLogs`.
    pub(crate) const CALL: Self = Self { logs_query: false };
    /// `eth_getLogs`.
    pub(crate) const GET_LOGS: Self = Self { logs_query: true };
}

/// The largest response body read (a hostile or broken endpoint must not exhaust
/// memory). An `eth_getLogs` answer this large is treated as "range too large".
const MAX_RESPONSE_BYTES: usize = 256 << 20;

/// Why a call did not return a result, before it becomes a public [`RpcError`].
#[derive(Debug)]
pub(crate) enum CallFailure {
    /// `eth_getLogs`: fewer blocks, please.
    RangeTooLarge {
        code: i64,
        message: String,
        hint: Option<u64>,
    },
    /// `eth_getLogs`: fewer addresses, please.
    TooManyAddresses { code: i64, message: String },
    /// Anything else, final.
    Error(RpcError),
}

impl From<CallError<CallFailure>> for CallFailure {
    fn from(e: CallError<CallFailure>) -> Self {
        match e {
            CallError::Final(failure) => failure,
            CallError::Request { method, error } => Self::Error(RpcError::InvalidArgument(
                format!("cannot serialise {method} request: {error}"),
            )),
            CallError::Malformed {
                endpoint,
                method,
                detail,
            } => Self::Error(RpcError::Malformed {
                endpoint,
                method,
                detail,
            }),
            CallError::Unavailable {
                method,
                failures,
                retry_after,
            } => Self::Error(RpcError::Unavailable {
                method,
                failures,
                retry_after,
            }),
        }
    }
}

impl Dialect for Eth {
    type Final = CallFailure;
    const VERSION: &'static str = "2.0";
    const CONTENT_TYPE: &'static str = "application/json";
    const MAX_RESPONSE_BYTES: usize = MAX_RESPONSE_BYTES;

    fn oversized(&self) -> Verdict<'static, CallFailure> {
        let why = format!("response over {MAX_RESPONSE_BYTES} bytes");
        if self.logs_query {
            Verdict::Final {
                failure: CallFailure::RangeTooLarge {
                    code: 0,
                    message: why,
                    hint: None,
                },
                endpoint_error: false,
            }
        } else {
            Verdict::Failover {
                why,
                malformed: true,
            }
        }
    }

    fn judge<'a>(&self, answer: &Answer<'a>) -> Verdict<'a, CallFailure> {
        let status = answer.status;
        let envelope = match parse_envelope(answer.body, answer.id) {
            Ok(envelope) => envelope,
            Err(detail) if status.is_server_error() => {
                return Verdict::Retry(format!("HTTP {status} ({detail})"));
            }
            Err(detail) if !status.is_success() => {
                return Verdict::Failover {
                    why: format!("HTTP {status} ({detail})"),
                    malformed: false,
                };
            }
            Err(detail) => {
                return Verdict::Failover {
                    why: detail,
                    malformed: true,
                };
            }
        };
        match envelope {
            Parsed::Error {
                code,
                message,
                data,
            } => self.judge_error(answer, code, message, data),
            Parsed::Result(_) if status.is_server_error() => {
                Verdict::Retry(format!("HTTP {status}"))
            }
            Parsed::Result(_) if !status.is_success() => Verdict::Failover {
                why: format!("HTTP {status}"),
                malformed: false,
            },
            Parsed::Result(raw) => Verdict::Result(raw),
        }
    }
}

impl Eth {
    /// A JSON-RPC error answer, by its class.
    fn judge_error<'a>(
        &self,
        answer: &Answer<'_>,
        code: i64,
        message: String,
        data: Option<String>,
    ) -> Verdict<'a, CallFailure> {
        let status = answer.status;
        let text = match &data {
            Some(data) => format!("{message} {data}"),
            None => message.clone(),
        };
        match classify(code, &text, self.logs_query) {
            Class::RateLimited => {
                Verdict::Retry(format!("rate limited (JSON-RPC {code}: {message})"))
            }
            Class::RangeTooLarge { hint } => Verdict::Final {
                failure: CallFailure::RangeTooLarge {
                    code,
                    message: text,
                    hint,
                },
                endpoint_error: false,
            },
            Class::TooManyAddresses => Verdict::Final {
                failure: CallFailure::TooManyAddresses {
                    code,
                    message: text,
                },
                endpoint_error: false,
            },
            Class::Other if status.is_server_error() => {
                Verdict::Retry(format!("HTTP {status} (JSON-RPC {code}: {message})"))
            }
            // An endpoint that refuses us over HTTP (401 bad key, 403, 404…): another may
            // not.
            Class::Other if !status.is_success() => Verdict::Failover {
                why: format!("HTTP {status} (JSON-RPC {code}: {message})"),
                malformed: false,
            },
            Class::Other => Verdict::Final {
                failure: CallFailure::Error(RpcError::JsonRpc {
                    endpoint: answer.endpoint.to_owned(),
                    method: answer.method.to_owned(),
                    code,
                    message,
                    data,
                }),
                endpoint_error: true,
            },
        }
    }
}

#[derive(Deserialize)]
struct Envelope<'a> {
    jsonrpc: Option<&'a str>,
    id: Option<u64>,
    #[serde(default, borrow, deserialize_with = "present")]
    result: Option<&'a RawValue>,
    #[serde(default)]
    error: Option<ErrorObject>,
}

/// Keeps `"result": null` apart from a missing `result`: the raw text is `null`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
struct ErrorObject {
    code: i64,
    #[serde(default)]
    message: String,
    #[serde(default)]
    data: Option<Box<RawValue>>,
}

enum Parsed<'a> {
    Result(&'a str),
    Error {
        code: i64,
        message: String,
        data: Option<String>,
    },
}

fn parse_envelope(bytes: &[u8], id: u64) -> Result<Parsed<'_>, String> {
    let envelope: Envelope<'_> = serde_json::from_slice(bytes).map_err(|e| {
        let head = String::from_utf8_lossy(bytes.get(..bytes.len().min(120)).unwrap_or_default());
        format!("not a JSON-RPC response ({e}): {head:?}")
    })?;
    if envelope.jsonrpc != Some("2.0") {
        return Err(format!("jsonrpc is {:?}, not \"2.0\"", envelope.jsonrpc));
    }
    if let Some(error) = envelope.error {
        // Errors about the request itself may carry id null.
        return Ok(Parsed::Error {
            code: error.code,
            message: error.message,
            data: error.data.map(|d| d.get().to_owned()),
        });
    }
    if envelope.id != Some(id) {
        return Err(format!(
            "response id {:?} does not match request id {id}",
            envelope.id
        ));
    }
    envelope
        .result
        .map(|raw| Parsed::Result(raw.get()))
        .ok_or_else(|| "response has neither result nor error".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes() {
        let ok = br#"{"jsonrpc":"2.0","id":7,"result":"0x10"}"#;
        assert!(matches!(
            parse_envelope(ok, 7),
            Ok(Parsed::Result("\"0x10\""))
        ));
        let null = br#"{"jsonrpc":"2.0","id":7,"result":null}"#;
        assert!(matches!(
            parse_envelope(null, 7),
            Ok(Parsed::Result("null"))
        ));
        let missing = br#"{"jsonrpc":"2.0","id":7}"#;
        assert!(parse_envelope(missing, 7).is_err());
        let wrong_id = br#"{"jsonrpc":"2.0","id":8,"result":"0x10"}"#;
        assert!(parse_envelope(wrong_id, 7).is_err());
        let no_version = br#"{"id":7,"result":"0x10"}"#;
        assert!(parse_envelope(no_version, 7).is_err());
        let html = b"<html>502 Bad Gateway</html>";
        assert!(parse_envelope(html, 7).is_err());
        let batch = br#"[{"jsonrpc":"2.0","id":7,"result":"0x10"}]"#;
        assert!(parse_envelope(batch, 7).is_err());
        let error = br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32005,"message":"limit exceeded","data":{"x":1}}}"#;
        match parse_envelope(error, 7) {
            Ok(Parsed::Error {
                code,
                message,
                data,
            }) => {
                assert_eq!(code, -32005);
                assert_eq!(message, "limit exceeded");
                assert_eq!(data.as_deref(), Some(r#"{"x":1}"#));
            }
            _ => panic!("expected an error"),
        }
    }
}
