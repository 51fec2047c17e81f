//! Deposit addresses: TRON (TRC20), Ethereum (ERC20) and Bitcoin/Omni (OMNI).

use sha3::{Digest, Keccak256};

use crate::{Chain, ErrorCode, Rejection};

/// TRON's address version byte (`T…`).
const TRON_VERSION: u8 = 0x41;
/// Bitcoin mainnet pay-to-pubkey-hash (`1…`).
const BTC_P2PKH_VERSION: u8 = 0x00;
/// Bitcoin mainnet pay-to-script-hash (`3…`).
const BTC_P2SH_VERSION: u8 = 0x05;

/// What an address is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressInfo {
    /// Its chain.
    pub chain: Chain,
    /// Canonical text: ERC20 lowercase `0x` hex; TRC20 and OMNI as given.
    pub canonical: String,
    /// The 20-byte account as `0x` + 40 lowercase hex (TRC20, ERC20).
    pub evm_hex: Option<String>,
}

fn invalid(message: impl Into<String>) -> Rejection {
    Rejection::field(ErrorCode::InvalidAddress, "address", message)
}

/// Detect the chain of an address by its form and validate it fully.
pub fn inspect_address(address: &str) -> Result<AddressInfo, Rejection> {
    if address.starts_with('T') {
        tron(address)
    } else if address.starts_with("0x") {
        ethereum(address)
    } else if address.starts_with(['1', '3']) {
        omni(address)
    } else {
        Err(invalid(
            "address is not a TRON (T…), Ethereum (0x…) or Bitcoin mainnet (1…/3…) address",
        ))
    }
}

/// Validate an address for `chain`.
pub fn validate_address(address: &str, chain: Chain) -> Result<AddressInfo, Rejection> {
    let info = inspect_address(address)?;
    if info.chain == chain {
        Ok(info)
    } else {
        Err(invalid(format!(
            "address is a {} address, not {chain}",
            info.chain
        )))
    }
}

/// The 21-byte payload of a base58check address (version byte + 20 bytes).
fn base58check_payload(address: &str) -> Option<[u8; 21]> {
    let decoded = bs58::decode(address).with_check(None).into_vec().ok()?;
    <[u8; 21]>::try_from(decoded.as_slice()).ok()
}

fn tron(address: &str) -> Result<AddressInfo, Rejection> {
    match base58check_payload(address) {
        Some(payload) if payload[0] == TRON_VERSION => Ok(AddressInfo {
            chain: Chain::Trc20,
            canonical: address.to_owned(),
            evm_hex: Some(format!("0x{}", hex::encode(&payload[1..]))),
        }),
        Some(_) => Err(invalid("TRON address has a wrong version byte (want 0x41)")),
        None => Err(invalid(
            "TRON address is not valid base58check of 25 bytes (checksum or length)",
        )),
    }
}

fn omni(address: &str) -> Result<AddressInfo, Rejection> {
    match base58check_payload(address) {
        Some(payload) if matches!(payload[0], BTC_P2PKH_VERSION | BTC_P2SH_VERSION) => {
            Ok(AddressInfo {
                chain: Chain::Omni,
                canonical: address.to_owned(),
                evm_hex: None,
            })
        }
        Some(_) => Err(invalid(
            "OMNI address must be Bitcoin mainnet P2PKH (0x00) or P2SH (0x05)",
        )),
        None => Err(invalid(
            "OMNI address is not valid base58check of 25 bytes (checksum or length)",
        )),
    }
}

/// The 40 hex digits of a `0x` address, if the form is right.
fn ethereum_digits(address: &str) -> Option<&str> {
    address
        .strip_prefix("0x")
        .filter(|h| h.len() == 40 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn ethereum(address: &str) -> Result<AddressInfo, Rejection> {
    let digits = ethereum_digits(address)
        .ok_or_else(|| invalid("Ethereum address must be 0x and 40 hex digits"))?;
    let has_lower = digits.bytes().any(|b| b.is_ascii_lowercase());
    let has_upper = digits.bytes().any(|b| b.is_ascii_uppercase());
    if has_lower && has_upper && eip55(digits) != digits {
        return Err(invalid(
            "mixed-case Ethereum address fails its EIP-55 checksum",
        ));
    }
    let lower = format!("0x{}", digits.to_ascii_lowercase());
    Ok(AddressInfo {
        chain: Chain::Erc20,
        canonical: lower.clone(),
        evm_hex: Some(lower),
    })
}

/// EIP-55: upper-case each hex letter whose nibble in keccak256(lowercase hex) is >= 8.
fn eip55(digits: &str) -> String {
    let lower = digits.to_ascii_lowercase();
    let hash = Keccak256::digest(lower.as_bytes());
    lower
        .bytes()
        .enumerate()
        .map(|(i, b)| {
            let byte = hash.get(i / 2).copied().unwrap_or_default();
            let nibble = if i % 2 == 0 { byte >> 4 } else { byte & 0x0f };
            char::from(if nibble >= 8 {
                b.to_ascii_uppercase()
            } else {
                b
            })
        })
        .collect()
}

/// The EIP-55 checksummed form of an Ethereum address (any case on input).
pub fn eip55_checksum(address: &str) -> Result<String, Rejection> {
    let digits = ethereum_digits(address)
        .ok_or_else(|| invalid("Ethereum address must be 0x and 40 hex digits"))?;
    Ok(format!("0x{}", eip55(digits)))
}

/// The TRON address (`T…`) of a 20-byte account.
pub(crate) fn tron_address(account: &[u8; 20]) -> String {
    versioned_base58check(TRON_VERSION, account)
}

/// The EIP-55 checksummed Ethereum address of a 20-byte account.
pub(crate) fn ethereum_address(account: &[u8; 20]) -> String {
    format!("0x{}", eip55(&hex::encode(account)))
}

/// The Bitcoin mainnet pay-to-pubkey-hash address (`1…`) of a 20-byte key hash.
pub(crate) fn p2pkh_address(key_hash: &[u8; 20]) -> String {
    versioned_base58check(BTC_P2PKH_VERSION, key_hash)
}

/// base58check of a version byte and 20 bytes.
fn versioned_base58check(version: u8, body: &[u8; 20]) -> String {
    let mut payload = [0u8; 21];
    payload[0] = version;
    payload[1..].copy_from_slice(body);
    bs58::encode(payload).with_check().into_string()
}

/// A TRON base58 address from `0x` + 40 hex (20 bytes) or `41` + 40 hex (21 bytes).
pub fn tron_from_hex(hex_text: &str) -> Result<String, Rejection> {
    let digits = hex_text
        .strip_prefix("0x")
        .or_else(|| hex_text.strip_prefix("41"))
        .filter(|d| d.len() == 40)
        .ok_or_else(|| invalid("TRON hex address must be 0x or 41 followed by 40 hex digits"))?;
    let mut account = [0u8; 20];
    hex::decode_to_slice(digits, &mut account)
        .map_err(|_| invalid("TRON hex address has a non-hex digit"))?;
    Ok(tron_address(&account))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_addresses() {
        let usdt = inspect_address("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t").unwrap();
        assert_eq!(usdt.chain, Chain::Trc20);
        assert_eq!(
            usdt.evm_hex.as_deref(),
            Some("0xa614f803b6fd780986a42c78ec9c7f77e6ded13c")
        );
        assert_eq!(
            tron_from_hex("41a614f803b6fd780986a42c78ec9c7f77e6ded13c").unwrap(),
            "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
        );
        assert_eq!(
            inspect_address("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")
                .unwrap()
                .chain,
            Chain::Omni
        );
        // EIP-55's own examples.
        for a in [
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        ] {
            assert_eq!(eip55_checksum(&a.to_lowercase()).unwrap(), a);
            assert!(inspect_address(a).is_ok());
        }
        assert!(inspect_address("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD").is_err());
    }

    #[test]
    fn wrong_chain_is_refused() {
        let err = validate_address("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", Chain::Erc20).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidAddress);
    }
}
