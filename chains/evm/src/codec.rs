//! Hex text of the Ethereum JSON-RPC: quantities, 32-byte hashes and words, addresses and
//! address topics. Strict: every function rejects what it does not fully understand.

/// `0x` + 40 hex digits of any case → lowercase. `None` when it is not exactly that.
pub(crate) fn normalize_address(text: &str) -> Option<String> {
    let digits = text.strip_prefix("0x")?;
    if digits.len() == 40 && is_hex(digits) {
        Some(format!("0x{}", digits.to_ascii_lowercase()))
    } else {
        None
    }
}

/// A lowercase address (`0x` + 40 hex) left-padded to a 32-byte topic.
pub(crate) fn address_topic(lower_address: &str) -> String {
    let digits = lower_address.strip_prefix("0x").unwrap_or(lower_address);
    format!("0x{:0>64}", digits)
}

/// A 32-byte topic holding an address: `0x` + 64 hex whose first 24 digits are zero →
/// `0x` + the last 40 digits, lowercase.
pub(crate) fn topic_address(topic: &str) -> Result<String, String> {
    let digits =
        word_digits(topic).ok_or_else(|| format!("topic {topic:?} is not 0x + 64 hex digits"))?;
    let (padding, address) = digits.split_at(24);
    if padding.bytes().any(|b| b != b'0') {
        return Err(format!(
            "topic {topic:?} is not a left-padded 20-byte address"
        ));
    }
    Ok(format!("0x{}", address.to_ascii_lowercase()))
}

/// `0x` + 64 hex digits (a hash or a 32-byte word) → lowercase.
pub(crate) fn parse_hash(text: &str) -> Result<String, String> {
    word_digits(text)
        .map(|digits| format!("0x{}", digits.to_ascii_lowercase()))
        .ok_or_else(|| format!("{text:?} is not 0x + 64 hex digits"))
}

/// Whether `text` is `0x` + exactly 64 hex digits (one ABI word).
pub(crate) fn is_word(text: &str) -> bool {
    word_digits(text).is_some()
}

fn word_digits(text: &str) -> Option<&str> {
    let digits = text.strip_prefix("0x")?;
    (digits.len() == 64 && is_hex(digits)).then_some(digits)
}

/// A JSON-RPC quantity (`0x` + 1 or more hex digits) as `u64`; values above `u64::MAX`
/// are rejected, never truncated. Leading zeros are tolerated.
pub(crate) fn parse_quantity(text: &str) -> Result<u64, String> {
    let digits = text
        .strip_prefix("0x")
        .ok_or_else(|| format!("quantity {text:?} does not start with 0x"))?;
    if digits.is_empty() || !is_hex(digits) {
        return Err(format!("quantity {text:?} is not 0x + hex digits"));
    }
    // All hex digits checked above: the only possible failure left is overflow.
    u64::from_str_radix(digits, 16)
        .map_err(|_| format!("quantity {text:?} does not fit in 64 bits"))
}

/// `n` as a JSON-RPC quantity: `0x` + lowercase hex without leading zeros.
pub(crate) fn quantity(n: u64) -> String {
    format!("{n:#x}")
}

fn is_hex(digits: &str) -> bool {
    digits.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("0x0"), Ok(0));
        assert_eq!(parse_quantity("0x1f"), Ok(31));
        assert_eq!(parse_quantity("0x00ff"), Ok(255));
        assert_eq!(parse_quantity("0xffffffffffffffff"), Ok(u64::MAX));
        assert_eq!(parse_quantity("0x0000ffffffffffffffff"), Ok(u64::MAX));
        for bad in [
            "",
            "0x",
            "0x10000000000000000",
            "ff",
            "0X1",
            "0x+1",
            "0x-1",
            "0x 1",
            "0x1g",
            "1",
        ] {
            assert!(parse_quantity(bad).is_err(), "{bad:?}");
        }
        assert_eq!(quantity(0), "0x0");
        assert_eq!(quantity(4096), "0x1000");
        assert_eq!(quantity(u64::MAX), "0xffffffffffffffff");
    }

    #[test]
    fn addresses_and_topics() {
        let mixed = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
        let lower = normalize_address(mixed).unwrap();
        assert_eq!(lower, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed");
        let topic = address_topic(&lower);
        assert_eq!(
            topic,
            "0x0000000000000000000000005aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
        );
        assert_eq!(topic_address(&topic).unwrap(), lower);
        assert_eq!(
            topic_address(&topic.to_ascii_uppercase().replacen("0X", "0x", 1)).unwrap(),
            lower
        );
        for bad in [
            "",
            "0x",
            "5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
            "0X5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
        ] {
            assert_eq!(normalize_address(bad), None, "{bad:?}");
        }
        assert_eq!(
            normalize_address("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beae"),
            None
        );
        assert_eq!(
            normalize_address("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaedd"),
            None
        );
        assert_eq!(
            normalize_address("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaeg"),
            None
        );
        // Non-zero padding, short and long topics.
        assert!(
            topic_address("0x0000000000000000000000015aaeb6053f3e94c9b9a09f33669435e7ef1beaed")
                .is_err()
        );
        assert!(topic_address("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed").is_err());
        assert!(topic_address(&format!("{topic}00")).is_err());
    }

    #[test]
    fn hashes() {
        let hash = format!("0x{}", "Ab".repeat(32));
        assert_eq!(parse_hash(&hash).unwrap(), format!("0x{}", "ab".repeat(32)));
        assert!(parse_hash(&hash[..65]).is_err());
        assert!(parse_hash(&format!("{hash}0")).is_err());
        assert!(parse_hash(&hash[2..]).is_err());
        assert!(is_word(&hash));
        assert!(!is_word("0x01"));
    }
}
