//! What a JSON-RPC error from a provider means for the caller: slow down (rate limit), ask
//! for fewer blocks (range or result too large), ask for fewer addresses, or nothing we
//! can fix (returned as it is).
//!
//! Providers do not agree on codes, so the message (and `data`, where some put the
//! details) is what counts. The phrases below are the ones real nodes and providers send:
//!
//! | who | error |
//! |---|---|
//! | Infura | `-32005 query returned more than 10000 results. Try with this block range [0x…, 0x…].`, `-32602 range 1000000 exceeds limit of 10000`, `-32005 query timeout exceeded`, rate: `-32005 project ID request rate exceeded`, `daily request count exceeded, request rate limited` |
//! | Alchemy | `-32602 Log response size exceeded. … this block range should work: [0x…, 0x…]`, `-32600 … up to a 2K block range`, rate: HTTP 429 / code 429 `… exceeded its compute units per second capacity` |
//! | QuickNode, 1RPC, Blast | `eth_getLogs is limited to a 10,000 range`, `eth_getLogs and eth_newFilter are limited to a 10,000 blocks range`; rate: `request limit reached` / HTTP 429 |
//! | Ankr | `-32600 block range is too wide`, `maximum [from, to] blocks distance: N`; llamarpc/Ankr `query exceeds max results` |
//! | Chainstack / Coinbase / PublicNode | `Block range limit exceeded.`, `please limit the query to at most N blocks`, `exceed maximum block range: N` |
//! | TronGrid (java-tron `/jsonrpc`) | `-32602 exceed max block range: 5000`, `-32005 query returned more than 10000 results`, `-32602 exceed max topics: 1000`, `-32602 exceed max addresses: 1000` (java-tron `filters/LogFilterWrapper.java`, `filters/LogFilter.java`, `filters/LogMatch.java`; every error with `data` `"{}"`) |
//! | geth | `query returned more than 10000 results` (older), `exceed max addresses or topics per search position`, `response too large` |
//! | erigon / reth | `query exceeds max block range N`, `query exceeds max results N, retry with the range A-B`, `context deadline exceeded` |
//! | Avalanche, Cloudflare, thirdweb, Optimism, Arbitrum | `requested too many blocks from A to B, maximum is set to N`, `Max range: N`, `Maximum allowed number of requested blocks is N`, `Block range is too large`, `backend response too large`, `logs matched by query exceeds limit of N` |
//! | anvil | no limit |

/// What a JSON-RPC error asks of us.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    /// Slow down and retry (then fail over).
    RateLimited,
    /// `eth_getLogs` only: query fewer blocks. `hint` is a span (blocks per query) the
    /// provider said would work or its stated limit, when the message names one.
    RangeTooLarge {
        /// A span the provider suggests, already made conservative.
        hint: Option<u64>,
    },
    /// `eth_getLogs` only: put fewer addresses in the topic OR-list.
    TooManyAddresses,
    /// Nothing a retry with other parameters would fix.
    Other,
}

const RATE_LIMIT: &[&str] = &[
    "rate limit",
    "rate-limit",
    "ratelimit",
    "rate exceeded",
    "too many requests",
    "request limit reached",
    "requests limit",
    "request count exceeded",
    "compute units",
    "compute unit",
    "throughput",
    "quota",
    "credits",
    "retry in",
];

const TOO_MANY_ADDRESSES: &[&str] = &[
    "exceed max addresses",
    "addresses or topics",
    "too many addresses",
    "exceed max topics",
    "too many topics",
    "max topics",
    "max addresses",
];

const RANGE_TOO_LARGE: &[&str] = &[
    "query returned more than",
    "too many results",
    "max results",
    "more than 10000 results",
    "response size",
    "response too large",
    "result too large",
    "results too large",
    "block range",
    "blocks range",
    "range limit",
    "range is too",
    "range too",
    "range exceeds",
    "range threshold",
    "exceeds limit",
    "exceeds the range",
    "max block range",
    "maximum block range",
    "max range",
    "blocks distance",
    "limited to",
    "too many blocks",
    "requested blocks",
    "limit the query",
    "query must be smaller",
    "exceeded max allowed",
    "logs matched by query exceeds",
    "query timeout",
    "timeout exceeded",
    "context deadline exceeded",
    "too large",
    "too wide",
    "limit exceeded",
    "too many",
];

/// Classify a JSON-RPC error. `text` is the message plus the `data` text; `logs_query`
/// says whether the request was an `eth_getLogs` (range and address classes only apply
/// there).
pub(crate) fn classify(code: i64, text: &str, logs_query: bool) -> Class {
    let lower = text.to_ascii_lowercase();
    if code == 429 || RATE_LIMIT.iter().any(|p| lower.contains(p)) {
        return Class::RateLimited;
    }
    if !logs_query {
        return Class::Other;
    }
    if TOO_MANY_ADDRESSES.iter().any(|p| lower.contains(p)) {
        return Class::TooManyAddresses;
    }
    // -32005 is "limit exceeded" in the Ethereum error-code proposal: Infura uses it for
    // result-count and duration limits (rate limits carry a rate phrase, caught above).
    if code == -32005 || RANGE_TOO_LARGE.iter().any(|p| lower.contains(p)) {
        return Class::RangeTooLarge {
            hint: span_hint(&lower),
        };
    }
    Class::Other
}

/// Phrases followed by a block limit (a number, maybe with `,` separators). Whether a
/// provider counts `to - from` or `to - from + 1` varies, so the hint is one less.
const LIMIT_PHRASES: &[&str] = &[
    "limited to a ",
    "limited to ",
    "exceeds limit of ",
    "range limit ",
    "maximum block range: ",
    "max block range: ",
    "max block range ",
    "maximum is set to ",
    "max range: ",
    "at most ",
    "requested blocks is ",
    "blocks distance: ",
    "block range greater than ",
    "block range exceeds ",
    "(maximum ",
];

/// A span suggested by the provider: an explicit range `[0xA, 0xB]` (Infura, Alchemy:
/// `B - A + 1` blocks) or a stated block limit (one less than the number).
fn span_hint(lower: &str) -> Option<u64> {
    if let Some(span) = bracket_range(lower) {
        return Some(span);
    }
    LIMIT_PHRASES.iter().find_map(|phrase| {
        let at = lower.find(phrase)?;
        let rest = lower.get(at + phrase.len()..)?;
        let digits: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ',')
            .filter(char::is_ascii_digit)
            .collect();
        let limit: u64 = digits.parse().ok()?;
        (limit >= 2).then(|| limit - 1)
    })
}

/// `[0xA, 0xB]` anywhere in the text → `B - A + 1`.
fn bracket_range(lower: &str) -> Option<u64> {
    let open = lower.find("[0x")?;
    let inside = lower.get(open + 1..)?;
    let close = inside.find(']')?;
    let (a, b) = inside.get(..close)?.split_once(',')?;
    let a = crate::codec::parse_quantity(a.trim()).ok()?;
    let b = crate::codec::parse_quantity(b.trim()).ok()?;
    b.checked_sub(a)?.checked_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn range(hint: Option<u64>) -> Class {
        Class::RangeTooLarge { hint }
    }

    /// Providers' error codes and messages, and the class each must get (for logs).
    const PROVIDER_MESSAGES: &[(i64, &str, Class)] = &[
        (
            -32005,
            "query returned more than 10000 results. Try with this block range [0x1B4E5A0, 0x1B4E6D1].",
            range(Some(0x1B4E6D1 - 0x1B4E5A0 + 1)),
        ),
        (
            -32602,
            "range 1000000 exceeds limit of 10000",
            range(Some(9_999)),
        ),
        (-32005, "query timeout exceeded", range(None)),
        (
            -32005,
            "project ID request rate exceeded",
            Class::RateLimited,
        ),
        (
            -32005,
            "daily request count exceeded, request rate limited",
            Class::RateLimited,
        ),
        (-32005, "limit exceeded", range(None)),
        (
            -32602,
            "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no limit on the response size, or you can request any block range with a cap of 10K logs in the response. Based on your parameters, this block range should work: [0x10, 0x2f]",
            range(Some(32)),
        ),
        (
            429,
            "Your app has exceeded its compute units per second capacity.",
            Class::RateLimited,
        ),
        (
            -32614,
            "eth_getLogs is limited to a 10,000 range",
            range(Some(9_999)),
        ),
        (
            -32000,
            "eth_getLogs and eth_newFilter are limited to a 10,000 blocks range",
            range(Some(9_999)),
        ),
        (-32600, "block range is too wide", range(None)),
        (
            -32000,
            "maximum [from, to] blocks distance: 3000",
            range(Some(2_999)),
        ),
        (-32000, "Block range limit exceeded.", range(None)),
        (
            -32000,
            "please limit the query to at most 1000 blocks",
            range(Some(999)),
        ),
        (
            -32000,
            "exceed maximum block range: 50000",
            range(Some(49_999)),
        ),
        (-32000, "exceed max block range: 5000", range(Some(4_999))),
        (
            -32000,
            "query exceeds max block range 100000",
            range(Some(99_999)),
        ),
        (
            -32602,
            "query exceeds max results 20000, retry with the range 1-2",
            range(None),
        ),
        (
            -32000,
            "requested too many blocks from 0 to 16777216, maximum is set to 2048",
            range(Some(2_047)),
        ),
        (-32046, "Max range: 3500", range(Some(3_499))),
        (
            -32000,
            "Maximum allowed number of requested blocks is 1000",
            range(Some(999)),
        ),
        (-32000, "backend response too large", range(None)),
        (
            -32000,
            "logs matched by query exceeds limit of 10000",
            range(Some(9_999)),
        ),
        (-32000, "context deadline exceeded", range(None)),
        (
            -32602,
            "invalid params range 9009594 is bigger than range limit 2000",
            range(Some(1_999)),
        ),
        (
            -32000,
            "block range is too wide (maximum 1024)",
            range(Some(1_023)),
        ),
        (
            -32000,
            "exceed max addresses or topics per search position",
            Class::TooManyAddresses,
        ),
        (-32000, "exceed max topics", Class::TooManyAddresses),
        // java-tron's own texts (LogFilter.java, LogFilterWrapper.java), with the
        // `"{}"` data its errors carry appended as the client sees them.
        (
            -32602,
            "exceed max block range: 5000 \"{}\"",
            range(Some(4_999)),
        ),
        (
            -32602,
            "exceed max topics: 1000 \"{}\"",
            Class::TooManyAddresses,
        ),
        (
            -32602,
            "exceed max addresses: 1000 \"{}\"",
            Class::TooManyAddresses,
        ),
        (
            -32005,
            "query returned more than 10000 results \"{}\"",
            range(None),
        ),
        (-32602, "TAG pending not supported \"{}\"", Class::Other),
        (-32602, "please verify: fromBlock <= toBlock", Class::Other),
        (-32000, "Too Many Requests", Class::RateLimited),
        (
            -32007,
            "request limit reached - reduce calls per second",
            Class::RateLimited,
        ),
        (
            -32090,
            "Too many requests, reason: call rate limit exhausted, retry in 10s",
            Class::RateLimited,
        ),
        (-32000, "header not found", Class::Other),
        (
            -32602,
            "invalid argument 0: hex string without 0x prefix",
            Class::Other,
        ),
        (3, "execution reverted", Class::Other),
    ];

    #[test]
    fn provider_messages() {
        for (code, message, want) in PROVIDER_MESSAGES {
            assert_eq!(classify(*code, message, true), *want, "{code} {message}");
        }
    }

    #[test]
    fn range_classes_only_for_logs() {
        assert_eq!(
            classify(-32005, "query returned more than 10000 results", false),
            Class::Other
        );
        assert_eq!(
            classify(-32000, "exceed max addresses or topics", false),
            Class::Other
        );
        assert_eq!(
            classify(-32005, "project ID request rate exceeded", false),
            Class::RateLimited
        );
        assert_eq!(classify(429, "anything", false), Class::RateLimited);
    }

    #[test]
    fn bracket_hints() {
        assert_eq!(bracket_range("try [0x10, 0x10]"), Some(1));
        assert_eq!(bracket_range("try [0x10,0x1f] now"), Some(16));
        assert_eq!(bracket_range("try [0x20, 0x10]"), None);
        assert_eq!(bracket_range("try [0x10]"), None);
        assert_eq!(span_hint("limited to 1 block"), None);
    }
}
