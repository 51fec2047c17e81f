//! Plain-http client connections straight on hyper: HTTP/1.1 keep-alive or h2c with prior
//! knowledge.

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper::header::{CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, Response, Uri};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

/// The order endpoint, relative to the target's base path.
pub const ORDER_PATH: &str = "/api/merchant/v2/TraderRechargeorder";

/// The order query endpoint, relative to the target's base path.
pub const QUERY_PATH: &str = "/api/merchant/v2/TraderRechargeorderQuery";

/// Where the requests go and how.
#[derive(Debug, Clone)]
pub struct Target {
    /// `host:port` to connect to.
    connect_to: String,
    /// The `Host` header (HTTP/1.1).
    host: HeaderValue,
    /// Origin-form request target for HTTP/1.1.
    origin_uri: Uri,
    /// Absolute URI for h2 (`:scheme` and `:authority` come from it).
    absolute_uri: Uri,
    /// h2c with prior knowledge instead of HTTP/1.1.
    http2: bool,
}

impl Target {
    /// The order endpoint under a base URL such as `http://127.0.0.1:8080` (an optional
    /// path prefix is kept).
    pub fn parse(target: &str, http2: bool) -> anyhow::Result<Self> {
        Self::endpoint(target, http2, ORDER_PATH)
    }

    /// The endpoint `endpoint` (e.g. [`QUERY_PATH`]) under the base URL `target`.
    pub fn endpoint(target: &str, http2: bool, endpoint: &str) -> anyhow::Result<Self> {
        let uri: Uri = target
            .parse()
            .with_context(|| format!("--target {target:?} is not a URL"))?;
        if uri.scheme_str() != Some("http") {
            bail!("--target must be a plain http:// URL, got {target:?}");
        }
        let authority = uri
            .authority()
            .with_context(|| format!("--target {target:?} has no host"))?;
        let port = authority.port_u16().unwrap_or(80);
        let host = authority.host();
        let connect_to = format!("{host}:{port}");
        let prefix = uri.path().trim_end_matches('/');
        let path = format!("{prefix}{endpoint}");
        let origin_uri: Uri = path.parse().context("building the request path")?;
        let absolute_uri: Uri = format!("http://{authority}{path}")
            .parse()
            .context("building the request URI")?;
        let host = HeaderValue::from_str(authority.as_str()).context("building the Host header")?;
        Ok(Self {
            connect_to,
            host,
            origin_uri,
            absolute_uri,
            http2,
        })
    }

    /// Whether requests use h2c.
    pub fn is_http2(&self) -> bool {
        self.http2
    }

    /// Opens one connection; its driver runs as a spawned task until the connection ends.
    pub async fn connect(&self) -> anyhow::Result<Sender> {
        let stream = TcpStream::connect(&self.connect_to)
            .await
            .with_context(|| format!("connecting to {}", self.connect_to))?;
        stream.set_nodelay(true).context("setting TCP_NODELAY")?;
        let io = TokioIo::new(stream);
        if self.http2 {
            let (sender, conn) = http2::handshake(TokioExecutor::new(), io)
                .await
                .context("h2c handshake")?;
            tokio::spawn(async move {
                // The connection's end shows up as an error on the next request.
                let _ = conn.await;
            });
            Ok(Sender::H2(sender))
        } else {
            let (sender, conn) = http1::handshake(io).await.context("HTTP/1.1 handshake")?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok(Sender::H1(sender))
        }
    }

    /// The POST request carrying `body`.
    pub fn request(&self, body: Bytes) -> anyhow::Result<Request<Full<Bytes>>> {
        let builder = Request::builder()
            .method(Method::POST)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let builder = if self.http2 {
            builder.uri(self.absolute_uri.clone())
        } else {
            builder
                .uri(self.origin_uri.clone())
                .header(HOST, self.host.clone())
        };
        builder
            .body(Full::new(body))
            .context("building the request")
    }
}

/// One side of an open connection that sends requests.
#[derive(Debug)]
pub enum Sender {
    /// HTTP/1.1: one request at a time.
    H1(http1::SendRequest<Full<Bytes>>),
    /// h2c: clones share the connection, one stream per request.
    H2(http2::SendRequest<Full<Bytes>>),
}

impl Sender {
    /// Another handle on the same connection: h2 only, HTTP/1.1 carries one request at a
    /// time.
    pub fn share(&self) -> Option<Sender> {
        match self {
            Sender::H1(_) => None,
            Sender::H2(s) => Some(Sender::H2(s.clone())),
        }
    }

    /// Waits until the connection can take a request; fails if it has closed.
    pub async fn ready(&mut self) -> hyper::Result<()> {
        match self {
            Sender::H1(s) => s.ready().await,
            Sender::H2(s) => s.ready().await,
        }
    }

    /// Sends one request and waits for the response head.
    pub async fn send(&mut self, req: Request<Full<Bytes>>) -> hyper::Result<Response<Incoming>> {
        match self {
            Sender::H1(s) => s.send_request(req).await,
            Sender::H2(s) => s.send_request(req).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_targets() {
        let t = Target::parse("http://127.0.0.1:8080", false).unwrap();
        assert_eq!(t.connect_to, "127.0.0.1:8080");
        assert_eq!(t.origin_uri, ORDER_PATH);
        assert_eq!(t.host, "127.0.0.1:8080");
        let t = Target::parse("http://localhost/base/", true).unwrap();
        assert_eq!(t.connect_to, "localhost:80");
        assert_eq!(
            t.absolute_uri.to_string(),
            "http://localhost/base/api/merchant/v2/TraderRechargeorder"
        );
        let t = Target::endpoint("http://127.0.0.1:8080", false, QUERY_PATH).unwrap();
        assert_eq!(t.origin_uri, QUERY_PATH);
        assert!(Target::parse("https://example.com", false).is_err());
        assert!(Target::parse("127.0.0.1:8080", false).is_err());
    }
}
