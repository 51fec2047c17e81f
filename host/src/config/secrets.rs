//! Secrets in the configuration: the redacted value ([`Secret`]), the one way a secret
//! is named ([`SecretRef`]: written inline or read from an environment variable,
//! resolved by one function with one wording of its errors), and the rules a secret's
//! value must meet (merchant secret length, admin token strength).

use std::collections::HashSet;
use std::fmt;

use serde::Deserialize;

use super::ConfigError;

/// A value that must never reach a log: `Debug` and `Display` print `[redacted]`.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the few places that must use it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A rule a secret's value must meet; the refusal says why, never the value.
pub type SecretRule = fn(&str) -> Result<(), String>;

/// One secret as the configuration names it: its value written inline under `key`, or
/// the name of an environment variable holding it under the key's `_env` form
/// (`secret` / `secret_env`), checked by a [`SecretRule`]. Errors name the key at fault.
#[derive(Clone, Debug)]
pub struct SecretRef<'a> {
    key: String,
    env_key: String,
    inline: Option<&'a Secret>,
    env: Option<&'a str>,
    rule: SecretRule,
}

impl<'a> SecretRef<'a> {
    /// `key` (the whole key, e.g. `merchants[0].secret`) written inline, or `<key>_env`
    /// naming an environment variable; any value passes until [`Self::checked_by`].
    pub fn new(key: impl fmt::Display, inline: Option<&'a Secret>, env: Option<&'a str>) -> Self {
        let key = key.to_string();
        Self {
            env_key: format!("{key}_env"),
            key,
            inline,
            env,
            rule: |_| Ok(()),
        }
    }

    /// A secret that can only be written inline (a URL that may carry credentials).
    pub fn inline(key: impl fmt::Display, value: &'a Secret) -> Self {
        Self::new(key, Some(value), None)
    }

    /// The key of the environment form when it is not `<key>_env` (a header's value in
    /// `headers.<name>` or `headers_env.<name>`).
    pub fn with_env_key(mut self, env_key: impl fmt::Display) -> Self {
        self.env_key = env_key.to_string();
        self
    }

    /// The value must meet `rule`.
    pub fn checked_by(mut self, rule: SecretRule) -> Self {
        self.rule = rule;
        self
    }

    /// The secret: the inline value or the environment variable's, checked by the rule;
    /// `None` when neither form is set. Both forms set, an unset variable or a value the
    /// rule refuses is an error naming the key (never the value).
    pub fn resolve(&self) -> Result<Option<Secret>, ConfigError> {
        let (value, key) = match (self.inline, self.env) {
            (Some(_), Some(_)) => return Err(self.both_forms()),
            (None, None) => return Ok(None),
            (Some(value), None) => (value.clone(), &self.key),
            (None, Some(var)) => (self.read_env(var)?, &self.env_key),
        };
        (self.rule)(value.expose()).map_err(|why| ConfigError::key(key, why))?;
        Ok(Some(value))
    }

    /// What can be checked without the environment: not both forms, and an inline
    /// value meets the rule.
    pub fn check_written(&self) -> Result<(), ConfigError> {
        match (self.inline, self.env) {
            (Some(_), Some(_)) => Err(self.both_forms()),
            (Some(value), None) => {
                (self.rule)(value.expose()).map_err(|why| ConfigError::key(&self.key, why))
            }
            _ => Ok(()),
        }
    }

    fn both_forms(&self) -> ConfigError {
        ConfigError::key(
            &self.key,
            format_args!("set it or `{}`, not both", self.env_key),
        )
    }

    fn read_env(&self, var: &str) -> Result<Secret, ConfigError> {
        let problem = match std::env::var(var) {
            Ok(value) => return Ok(Secret::new(value)),
            Err(std::env::VarError::NotPresent) => "is not set",
            Err(std::env::VarError::NotUnicode(_)) => "is not valid UTF-8",
        };
        Err(ConfigError::key(
            &self.env_key,
            format_args!("the environment variable {var} {problem}"),
        ))
    }
}

/// The shortest merchant secret accepted: 32 characters.
pub const MIN_SECRET_CHARS: usize = 32;

/// A merchant's signing secret: at least [`MIN_SECRET_CHARS`] characters.
pub fn check_secret_length(secret: &str) -> Result<(), String> {
    let chars = secret.chars().count();
    if chars < MIN_SECRET_CHARS {
        return Err(format!(
            "must be at least {MIN_SECRET_CHARS} characters (it has {chars})"
        ));
    }
    Ok(())
}

/// Longest admin token accepted (it travels in a header and a login form).
pub const MAX_TOKEN_CHARS: usize = 512;

/// Shortest admin token accepted.
pub const MIN_TOKEN_CHARS: usize = 32;

/// Estimated strength an admin token needs, in bits.
pub const MIN_TOKEN_BITS: f64 = 128.0;

/// Whether `token` is strong enough to guard the admin API: visible ASCII (it travels
/// in an `Authorization` header), [`MIN_TOKEN_CHARS`]..=[`MAX_TOKEN_CHARS`] characters,
/// and at least [`MIN_TOKEN_BITS`] by [`estimated_bits`]. The refusal says why, never
/// the token.
pub fn check_token_strength(token: &str) -> Result<(), String> {
    const ADVICE: &str = "make one with `openssl rand -hex 32`";
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "must be printable ASCII without spaces (it is sent in an HTTP header); {ADVICE}"
        ));
    }
    let chars = token.len();
    if chars < MIN_TOKEN_CHARS {
        return Err(format!(
            "must be at least {MIN_TOKEN_CHARS} characters (it has {chars}); {ADVICE}"
        ));
    }
    if chars > MAX_TOKEN_CHARS {
        return Err(format!("must be at most {MAX_TOKEN_CHARS} characters"));
    }
    let bits = estimated_bits(token);
    if bits < MIN_TOKEN_BITS {
        return Err(format!(
            "is too predictable: about {bits:.0} bits by the gateway's estimate, at least \
             {MIN_TOKEN_BITS:.0} needed (runs, sequences, repeats and a small set of \
             characters count for little); {ADVICE}"
        ));
    }
    Ok(())
}

/// A conservative estimate of how many bits of guessing `token` is worth: each character
/// is worth log2 of the smaller of its alphabet (hex digits 16; else digits 10, lower
/// case 26, upper case 26 and symbols 32, each counted when present) and the number of
/// distinct characters the token uses; a character that repeats the one before,
/// continues a step sequence (`abc`, `9753`), or ends a three-character stretch seen
/// earlier in the token is worth nothing.
pub fn estimated_bits(token: &str) -> f64 {
    let bytes = token.as_bytes();
    let distinct = bytes.iter().collect::<HashSet<_>>().len();
    let per_char = (alphabet_size(bytes).min(distinct).max(1) as f64).log2();
    let counted = (0..bytes.len())
        .filter(|&i| !is_predictable_at(bytes, i))
        .count();
    counted as f64 * per_char
}

/// The alphabet `bytes` were drawn from: hex digits (one case) 16; else 10 digits, 26
/// lower case, 26 upper case and 32 symbols, each counted when present.
fn alphabet_size(bytes: &[u8]) -> usize {
    let hex = bytes.iter().all(u8::is_ascii_hexdigit)
        && (!bytes.iter().any(u8::is_ascii_lowercase) || !bytes.iter().any(u8::is_ascii_uppercase));
    if hex {
        return 16;
    }
    let has = |member: fn(&u8) -> bool, size: usize| {
        if bytes.iter().any(member) { size } else { 0 }
    };
    has(u8::is_ascii_digit, 10)
        + has(u8::is_ascii_lowercase, 26)
        + has(u8::is_ascii_uppercase, 26)
        + has(u8::is_ascii_punctuation, 32)
}

/// Whether the character at `i` repeats the one before, continues a step sequence, or
/// ends a three-character stretch seen earlier.
fn is_predictable_at(bytes: &[u8], i: usize) -> bool {
    let at = |k: Option<usize>| k.and_then(|k| bytes.get(k)).map(|b| i32::from(*b));
    let (here, prev, prev2) = (at(Some(i)), at(i.checked_sub(1)), at(i.checked_sub(2)));
    let repeat = prev.is_some() && prev == here;
    let sequence = matches!((here, prev, prev2), (Some(c), Some(b), Some(a)) if c - b == b - a);
    let stretch = i >= 3
        && bytes.get(i - 2..=i).is_some_and(|tail| {
            bytes
                .get(..i - 1)
                .is_some_and(|head| head.windows(3).any(|w| w == tail))
        });
    repeat || sequence || stretch
}

#[cfg(test)]
mod tests {
    use rand::Rng;

    use super::*;

    fn hex(bytes: usize) -> String {
        let mut rng = rand::rng();
        (0..bytes)
            .map(|_| format!("{:02x}", rng.random::<u8>()))
            .collect()
    }

    #[test]
    fn random_32_byte_tokens_pass_and_patterns_do_not() {
        let mut weakest = f64::MAX;
        for _ in 0..2_000 {
            let token = hex(32);
            weakest = weakest.min(estimated_bits(&token));
            assert_eq!(check_token_strength(&token), Ok(()), "{token}");
        }
        assert!(weakest > 160.0, "{weakest}");
        use base64::Engine as _;
        let raw: [u8; 32] = rand::rng().random();
        let b64 = base64::engine::general_purpose::STANDARD.encode(raw);
        assert_eq!(check_token_strength(&b64), Ok(()), "{b64}");
        for weak in [
            "aaaaaaaaaaaaaaaa",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "0123456789abcdef0123456789abcdef",
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
            "abcabcabcabcabcabcabcabcabcabcabcabcabcabcabc",
            "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12",
            "9876543210zyxwvutsrqponmlkjihgfedcba",
            "pages-admin-token-0123456789",
            "changeme-changeme-changeme-changeme",
        ] {
            assert!(check_token_strength(weak).is_err(), "{weak} passed");
        }
        // 16 random bytes are 128 bits, but the estimate is conservative.
        assert!(check_token_strength(&hex(16)).is_err());
        assert!(check_token_strength(&format!("{} {}", hex(32), hex(32))).is_err());
        let long = hex(MAX_TOKEN_CHARS);
        assert!(check_token_strength(&long).is_err());
    }

    #[test]
    fn the_refusal_never_echoes_the_token() {
        let token = "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12";
        let why = check_token_strength(token).unwrap_err();
        assert!(!why.contains("ab12"), "{why}");
    }

    #[test]
    fn a_secret_ref_is_inline_or_from_the_environment_and_errors_name_the_key() {
        let inline = Secret::new("written-inline");
        let found = SecretRef::new("t.secret", Some(&inline), None).resolve();
        assert_eq!(found.unwrap(), Some(inline.clone()));
        assert_eq!(
            SecretRef::new("t.secret", None, None).resolve().unwrap(),
            None
        );

        let var = "USDT_GATEWAY_TEST_SURELY_UNSET_SECRET_REF";
        let err = SecretRef::new("t.secret", None, Some(var))
            .resolve()
            .unwrap_err()
            .to_string();
        assert!(err.contains("`t.secret_env`") && err.contains(var), "{err}");

        let err = SecretRef::new("t.secret", Some(&inline), Some(var))
            .resolve()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`t.secret`") && err.contains("`t.secret_env`"),
            "{err}"
        );
        let header = SecretRef::new("p.headers.K", Some(&inline), Some(var))
            .with_env_key("p.headers_env.K")
            .check_written()
            .unwrap_err()
            .to_string();
        assert!(header.contains("`p.headers_env.K`"), "{header}");
    }

    #[test]
    fn a_secret_ref_applies_its_rule_without_echoing_the_value() {
        let short = Secret::new("short-secret-value");
        let reference = SecretRef::inline("m.secret", &short).checked_by(check_secret_length);
        for err in [
            reference.resolve().unwrap_err().to_string(),
            reference.check_written().unwrap_err().to_string(),
        ] {
            assert!(err.contains("`m.secret`") && err.contains("32"), "{err}");
            assert!(!err.contains("short-secret-value"), "{err}");
        }
        let unset = SecretRef::new("m.secret", None, Some("USDT_GATEWAY_TEST_SURELY_UNSET_X"));
        assert!(
            unset.check_written().is_ok(),
            "the environment is read only on resolve"
        );
    }
}
