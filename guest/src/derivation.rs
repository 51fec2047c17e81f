//! Watch-only deposit addresses (WIT interface `derivation`, since 2.2.0): an account's
//! BIP32 extended public key (`xpub`) is parsed, its non-hardened children derived
//! (`…/0/i`, the external chain of a BIP44 account) and encoded as TRON, Ethereum or
//! Bitcoin (OMNI) addresses. No private key is ever accepted: a serialized private key
//! is refused with its own code before anything else is read from it.

use core::fmt;

use hmac::{Hmac, Mac};
use k256::elliptic_curve::PrimeField;
use k256::elliptic_curve::group::Group;
use k256::elliptic_curve::sec1::ToEncodedPoint;
use k256::{FieldBytes, ProjectivePoint, PublicKey, Scalar};
use ripemd::Ripemd160;
use sha2::{Digest, Sha256, Sha512};
use sha3::Keccak256;

use crate::Chain;
use crate::addresses::{ethereum_address, p2pkh_address, tron_address};

/// Version bytes of a mainnet extended public key (`xpub…`).
const XPUB_VERSION: [u8; 4] = [0x04, 0x88, 0xB2, 0x1E];

/// Version bytes of serialized private keys: `xprv`, `tprv`, `yprv`, `Yprv`, `zprv`,
/// `Zprv`, `uprv`, `vprv` (BIP32, BIP49, BIP84, SLIP-132).
const PRIVATE_VERSIONS: [[u8; 4]; 8] = [
    [0x04, 0x88, 0xAD, 0xE4],
    [0x04, 0x35, 0x83, 0x94],
    [0x04, 0x9D, 0x78, 0x78],
    [0x02, 0x95, 0xB0, 0x05],
    [0x04, 0xB2, 0x43, 0x0C],
    [0x02, 0xAA, 0x7A, 0x99],
    [0x04, 0x4A, 0x4E, 0x28],
    [0x04, 0x5F, 0x18, 0xBC],
];

/// Length of a serialized extended key: version, depth, parent fingerprint, child
/// number, chain code, key.
const SERIALIZED_LEN: usize = 78;

/// The longest text taken for an extended key (82 bytes are at most 112 characters).
const MAX_TEXT_LEN: usize = 112;

/// The first hardened index, 2^31: children at or above it need the private key.
pub const HARDENED: u32 = 1 << 31;

/// The external (receiving) chain of a BIP44 account: deposit addresses are `…/0/i`.
pub const EXTERNAL_CHAIN: u32 = 0;

/// Why an extended key or an index was refused; each is a stable code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DerivationCode {
    /// `INVALID_XPUB`: not an extended public key.
    InvalidXpub,
    /// `PRIVATE_KEY_REFUSED`: a serialized private key.
    PrivateKeyRefused,
    /// `INVALID_INDEX`: a hardened index (>= 2^31).
    InvalidIndex,
    /// `INVALID_CHILD_KEY`: this child does not exist (BIP32: use the next index).
    InvalidChildKey,
}

impl DerivationCode {
    /// The stable wire code, e.g. `PRIVATE_KEY_REFUSED`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidXpub => "INVALID_XPUB",
            Self::PrivateKeyRefused => "PRIVATE_KEY_REFUSED",
            Self::InvalidIndex => "INVALID_INDEX",
            Self::InvalidChildKey => "INVALID_CHILD_KEY",
        }
    }
}

/// A refused extended key or index. The message never quotes key material.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DerivationError {
    /// The stable code.
    pub code: DerivationCode,
    /// A human-readable English explanation; not part of the stable contract.
    pub message: String,
}

impl fmt::Display for DerivationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for DerivationError {}

fn refuse(code: DerivationCode, message: &str) -> DerivationError {
    DerivationError {
        code,
        message: message.to_owned(),
    }
}

fn invalid_xpub(message: &str) -> DerivationError {
    refuse(DerivationCode::InvalidXpub, message)
}

/// A parsed extended public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtendedPublicKey {
    /// 0 for a master key, 1 for its children, …
    pub depth: u8,
    /// The first 4 bytes of the parent key's HASH160 (0 for a master key).
    pub parent_fingerprint: [u8; 4],
    /// The index this key has under its parent (0 for a master key).
    pub child_number: u32,
    chain_code: [u8; 32],
    key: PublicKey,
}

/// What [`parse_xpub`] tells about an extended public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XpubInfo {
    /// 0 for a master key; 3 for a BIP44 account key.
    pub depth: u8,
    /// The parent key's fingerprint, big-endian.
    pub parent_fingerprint: u32,
    /// The index under its parent (hardened indices have the top bit set).
    pub child_number: u32,
    /// This key's fingerprint (first 4 bytes of its HASH160), big-endian.
    pub fingerprint: u32,
    /// The compressed public key, 66 lowercase hex digits.
    pub public_key: String,
}

/// An address derived at `…/0/index` of an account key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DerivedAddress {
    /// The chain it is encoded for.
    pub chain: Chain,
    /// Its index on the external chain.
    pub index: u32,
    /// The address: TRON `T…`, Ethereum EIP-55 `0x…`, Bitcoin P2PKH `1…`.
    pub address: String,
    /// The compressed public key, 66 lowercase hex digits.
    pub public_key: String,
}

/// The fields of a serialized extended key, in order.
struct Serialized {
    version: [u8; 4],
    depth: u8,
    parent_fingerprint: [u8; 4],
    child_number: u32,
    chain_code: [u8; 32],
    key: [u8; 33],
}

impl Serialized {
    /// Split exactly 78 bytes into their fields; `None` for any other length.
    fn split(bytes: &[u8]) -> Option<Self> {
        let (version, rest) = bytes.split_first_chunk::<4>()?;
        let (&depth, rest) = rest.split_first()?;
        let (parent_fingerprint, rest) = rest.split_first_chunk::<4>()?;
        let (child, rest) = rest.split_first_chunk::<4>()?;
        let (chain_code, key) = rest.split_first_chunk::<32>()?;
        Some(Self {
            version: *version,
            depth,
            parent_fingerprint: *parent_fingerprint,
            child_number: u32::from_be_bytes(*child),
            chain_code: *chain_code,
            key: key.try_into().ok()?,
        })
    }

    /// Decode base58check text into its fields.
    fn decode(text: &str) -> Result<Self, DerivationError> {
        // 82 bytes are at most 112 base58 characters; longer text is refused before the
        // decoder (quadratic in its input) runs.
        if text.len() > MAX_TEXT_LEN {
            return Err(invalid_xpub("an extended key is at most 112 characters"));
        }
        let bytes = bs58::decode(text)
            .with_check(None)
            .into_vec()
            .map_err(|_| invalid_xpub("not base58check (bad character or checksum)"))?;
        Self::split(&bytes).ok_or_else(|| invalid_xpub("an extended key is 78 bytes"))
    }

    /// Whether the version or the key data says this is a private key.
    fn is_private(&self) -> bool {
        PRIVATE_VERSIONS.contains(&self.version) || self.key[0] == 0
    }
}

impl ExtendedPublicKey {
    /// Parse a base58check extended public key (`xpub…`, mainnet version 0x0488B21E).
    /// A private key (`xprv…` and the other private versions, or key data starting with
    /// 0x00) is refused with `PRIVATE_KEY_REFUSED`; anything else that is not a valid
    /// `xpub` — checksum, length, version, a master key with a parent or an index, a
    /// point not on secp256k1 — with `INVALID_XPUB`.
    pub fn parse(text: &str) -> Result<Self, DerivationError> {
        let s = Serialized::decode(text)?;
        if s.is_private() {
            return Err(refuse(
                DerivationCode::PrivateKeyRefused,
                "this is a private extended key: give the account's extended public key (xpub); the gateway never takes a key that can spend",
            ));
        }
        if s.version != XPUB_VERSION {
            return Err(invalid_xpub(
                "unknown version bytes: only a mainnet xpub (0x0488B21E) is accepted",
            ));
        }
        if s.depth == 0 && (s.parent_fingerprint != [0; 4] || s.child_number != 0) {
            return Err(invalid_xpub(
                "a master key (depth 0) has no parent fingerprint and no index",
            ));
        }
        let key = PublicKey::from_sec1_bytes(&s.key)
            .map_err(|_| invalid_xpub("the key is not a compressed point on secp256k1"))?;
        Ok(Self {
            depth: s.depth,
            parent_fingerprint: s.parent_fingerprint,
            child_number: s.child_number,
            chain_code: s.chain_code,
            key,
        })
    }

    /// The base58check serialization (`xpub…`).
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(SERIALIZED_LEN);
        bytes.extend_from_slice(&XPUB_VERSION);
        bytes.push(self.depth);
        bytes.extend_from_slice(&self.parent_fingerprint);
        bytes.extend_from_slice(&self.child_number.to_be_bytes());
        bytes.extend_from_slice(&self.chain_code);
        bytes.extend_from_slice(&self.compressed());
        bs58::encode(bytes).with_check().into_string()
    }

    /// The compressed SEC1 public key (33 bytes).
    fn compressed(&self) -> [u8; 33] {
        let point = self.key.to_encoded_point(true);
        point.as_bytes().try_into().unwrap_or([0; 33])
    }

    /// HASH160 of the compressed key: RIPEMD-160 of SHA-256.
    fn hash160(&self) -> [u8; 20] {
        Ripemd160::digest(Sha256::digest(self.compressed())).into()
    }

    /// The key's fingerprint: the first 4 bytes of its HASH160.
    pub fn fingerprint(&self) -> [u8; 4] {
        let [a, b, c, d, ..] = self.hash160();
        [a, b, c, d]
    }

    /// The public child key at `index` (BIP32 CKDpub). Errors: `INVALID_INDEX` for a
    /// hardened index; `INVALID_CHILD_KEY` when the child does not exist (probability
    /// below 2^-127) or the depth would pass 255.
    pub fn child(&self, index: u32) -> Result<Self, DerivationError> {
        if index >= HARDENED {
            return Err(refuse(
                DerivationCode::InvalidIndex,
                "a hardened index (>= 2^31) needs the private key; indices are 0..=2147483647",
            ));
        }
        let depth = self.depth.checked_add(1).ok_or_else(|| {
            refuse(
                DerivationCode::InvalidChildKey,
                "a key of depth 255 has no children",
            )
        })?;
        let (tweak, chain_code) = self.tweak(index)?;
        let point = ProjectivePoint::GENERATOR * tweak + self.key.to_projective();
        if bool::from(point.is_identity()) {
            return Err(no_child());
        }
        let key = PublicKey::from_affine(point.to_affine()).map_err(|_| no_child())?;
        Ok(Self {
            depth,
            parent_fingerprint: self.fingerprint(),
            child_number: index,
            chain_code,
            key,
        })
    }

    /// HMAC-SHA512(chain code, key ‖ index) split into the scalar IL and the chain code IR.
    fn tweak(&self, index: u32) -> Result<(Scalar, [u8; 32]), DerivationError> {
        let mut mac = Hmac::<Sha512>::new_from_slice(&self.chain_code)
            .map_err(|_| invalid_xpub("bad chain code"))?;
        mac.update(&self.compressed());
        mac.update(&index.to_be_bytes());
        let i = mac.finalize().into_bytes();
        let (Some(il), Some(ir)) = (i.first_chunk::<32>(), i.last_chunk::<32>()) else {
            return Err(no_child());
        };
        let tweak = Option::<Scalar>::from(Scalar::from_repr(FieldBytes::from(*il)));
        Ok((tweak.ok_or_else(no_child)?, *ir))
    }

    /// The 20-byte account of TRON and Ethereum: the last 20 bytes of keccak-256 of the
    /// uncompressed key without its 0x04 prefix.
    fn evm_account(&self) -> [u8; 20] {
        let point = self.key.to_encoded_point(false);
        let xy = point.as_bytes().get(1..).unwrap_or_default();
        let hash: [u8; 32] = Keccak256::digest(xy).into();
        hash.last_chunk::<20>().copied().unwrap_or_default()
    }

    /// This key's address on `chain`.
    pub fn address(&self, chain: Chain) -> String {
        match chain {
            Chain::Trc20 => tron_address(&self.evm_account()),
            Chain::Erc20 => ethereum_address(&self.evm_account()),
            Chain::Omni => p2pkh_address(&self.hash160()),
        }
    }
}

fn no_child() -> DerivationError {
    refuse(
        DerivationCode::InvalidChildKey,
        "this index yields no valid child key (BIP32: skip to the next index)",
    )
}

/// Parse an extended public key and describe it.
pub fn parse_xpub(xpub: &str) -> Result<XpubInfo, DerivationError> {
    let key = ExtendedPublicKey::parse(xpub)?;
    Ok(XpubInfo {
        depth: key.depth,
        parent_fingerprint: u32::from_be_bytes(key.parent_fingerprint),
        child_number: key.child_number,
        fingerprint: u32::from_be_bytes(key.fingerprint()),
        public_key: hex::encode(key.compressed()),
    })
}

/// The serialized child `xpub` at `index` of `xpub` (one CKDpub step).
pub fn derive_xpub(xpub: &str, index: u32) -> Result<String, DerivationError> {
    Ok(ExtendedPublicKey::parse(xpub)?.child(index)?.encode())
}

/// The address at `…/0/index` of the account key `xpub`, encoded for `chain`.
pub fn derive_address(
    xpub: &str,
    chain: Chain,
    index: u32,
) -> Result<DerivedAddress, DerivationError> {
    let account = ExtendedPublicKey::parse(xpub)?;
    if index >= HARDENED {
        return Err(refuse(
            DerivationCode::InvalidIndex,
            "a deposit address index is 0..=2147483647",
        ));
    }
    let key = account.child(EXTERNAL_CHAIN)?.child(index)?;
    Ok(DerivedAddress {
        chain,
        index,
        address: key.address(chain),
        public_key: hex::encode(key.compressed()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// BIP32 test vector 1: m, m/0H/1 and m/0H/1/2H/2 (from the BIP text).
    const TV1_M: &str = "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8";
    const TV1_M_0H: &str = "xpub68Gmy5EdvgibQVfPdqkBBCHxA5htiqg55crXYuXoQRKfDBFA1WEjWgP6LHhwBZeNK1VTsfTFUHCdrfp1bgwQ9xv5ski8PX9rL2dZXvgGDnw";
    const TV1_M_0H_1: &str = "xpub6ASuArnXKPbfEwhqN6e3mwBcDTgzisQN1wXN9BJcM47sSikHjJf3UFHKkNAWbWMiGj7Wf5uMash7SyYq527Hqck2AxYysAA7xmALppuCkwQ";
    const TV1_M_XPRV: &str = "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi";
    /// The account keys m/44'/0'/0' and m/44'/60'/0' of the BIP39 test mnemonic
    /// ("abandon" ×11 "about").
    const MNEMONIC_BTC_ACCOUNT: &str = "xpub6BosfCnifzxcFwrSzQiqu2DBVTshkCXacvNsWGYJVVhhawA7d4R5WSWGFNbi8Aw6ZRc1brxMyWMzG3DSSSSoekkudhUd9yLb6qx39T9nMdj";
    const MNEMONIC_ETH_ACCOUNT: &str = "xpub6DCoCpSuQZB2jawqnGMEPS63ePKWkwWPH4TU45Q7LPXWuNd8TMtVxRrgjtEshuqpK3mdhaWHPFsBngh5GFZaM6si3yZdUsT8ddYM3PwnATt";

    fn code<T: fmt::Debug>(r: Result<T, DerivationError>) -> DerivationCode {
        r.unwrap_err().code
    }

    #[test]
    fn bip32_public_step_and_round_trip() {
        assert_eq!(derive_xpub(TV1_M_0H, 1).unwrap(), TV1_M_0H_1);
        assert_eq!(ExtendedPublicKey::parse(TV1_M).unwrap().encode(), TV1_M);
        assert_eq!(parse_xpub(TV1_M).unwrap().fingerprint, 0x3442_193e);
        assert_eq!(
            code(derive_xpub(TV1_M, HARDENED)),
            DerivationCode::InvalidIndex
        );
    }

    #[test]
    fn well_known_first_addresses_of_the_test_mnemonic() {
        let btc = derive_address(MNEMONIC_BTC_ACCOUNT, Chain::Omni, 0).unwrap();
        assert_eq!(btc.address, "1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA");
        let eth = derive_address(MNEMONIC_ETH_ACCOUNT, Chain::Erc20, 0).unwrap();
        assert_eq!(eth.address, "0x9858EfFD232B4033E47d90003D41EC34EcaEda94");
        // The TRON encoding of a key is its Ethereum account under version 0x41.
        let tron = derive_address(MNEMONIC_ETH_ACCOUNT, Chain::Trc20, 0).unwrap();
        let info = crate::addresses::inspect_address(&tron.address).unwrap();
        assert_eq!(info.evm_hex.unwrap(), eth.address.to_lowercase());
    }

    #[test]
    fn private_keys_are_refused_and_never_echoed() {
        let err = ExtendedPublicKey::parse(TV1_M_XPRV).unwrap_err();
        assert_eq!(err.code, DerivationCode::PrivateKeyRefused);
        assert!(!err.message.contains(&TV1_M_XPRV[4..]));
        let err = derive_address(TV1_M_XPRV, Chain::Trc20, 0).unwrap_err();
        assert_eq!(err.code, DerivationCode::PrivateKeyRefused);
    }

    #[test]
    fn garbage_is_an_invalid_xpub() {
        for bad in [
            "",
            "xpub",
            "0",
            &TV1_M[..TV1_M.len() - 1],
            "1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA",
        ] {
            assert_eq!(
                code(parse_xpub(bad)),
                DerivationCode::InvalidXpub,
                "{bad:?}"
            );
        }
        let hardened = derive_address(MNEMONIC_BTC_ACCOUNT, Chain::Omni, u32::MAX);
        assert_eq!(code(hardened), DerivationCode::InvalidIndex);
    }
}
