//! The dev-mode policy: when dev mode is on, where it may listen, and what it turns on
//! by default (`/metrics` on the main port, callbacks to private addresses).

use super::{Config, ConfigError};

/// Whether dev mode is on, and why (for the start-up banner and `config check`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DevMode {
    /// On or off.
    pub on: bool,
    /// What decided it.
    pub reason: &'static str,
}

impl Config {
    /// Whether dev mode is on: `dev.enabled` when set; unset, only for the
    /// zero-configuration run (no configuration file, no merchants, no `database_url`).
    pub fn dev_mode(&self) -> DevMode {
        match self.dev.enabled {
            Some(true) => DevMode {
                on: true,
                reason: "dev.enabled = true",
            },
            Some(false) => DevMode {
                on: false,
                reason: "dev.enabled = false",
            },
            None if self.source_file.is_none()
                && self.merchants.is_empty()
                && self.database_url.is_none() =>
            {
                DevMode {
                    on: true,
                    reason: "zero-configuration run: no configuration file, no merchants, no database_url",
                }
            }
            None => DevMode {
                on: false,
                reason: "a configuration is given and dev.enabled is not set",
            },
        }
    }

    /// Dev mode lets anyone who reaches the port mint deposits: off loopback it needs
    /// the explicit opt-in `dev.allow_public_listen`.
    pub(super) fn check_dev_listen(&self) -> Result<(), ConfigError> {
        if self.dev_mode().on && !self.listen.ip().is_loopback() && !self.dev.allow_public_listen {
            return Err(ConfigError::key(
                "dev.allow_public_listen",
                format_args!(
                    "dev mode is on ({}) and `listen` is {}, not loopback: anyone reaching it could \
                     mint deposits; listen on 127.0.0.1, turn dev mode off, or set \
                     dev.allow_public_listen = true",
                    self.dev_mode().reason,
                    self.listen
                ),
            ));
        }
        Ok(())
    }

    /// Whether `GET /metrics` is served on the main port: `metrics.on_main_port` when
    /// set; unset, only in dev mode on a loopback `listen` without `metrics.listen` (the
    /// metrics name merchants and show their volumes: a production gateway serves them
    /// on a private address).
    pub fn metrics_on_main_port(&self) -> bool {
        self.metrics.on_main_port.unwrap_or(
            self.dev_mode().on && self.listen.ip().is_loopback() && self.metrics.listen.is_none(),
        )
    }

    /// Whether callbacks may go to private and loopback addresses.
    pub fn allow_private_targets(&self) -> bool {
        self.notify
            .allow_private_targets
            .unwrap_or(self.dev_mode().on)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{GOOD_SECRET, load};

    #[test]
    fn metrics_are_off_the_main_port_outside_dev_mode_unless_asked_for() {
        let merchant = format!("[[merchants]]\nappid = \"m\"\nsecret = \"{GOOD_SECRET}\"\n");
        assert!(!load(&merchant).unwrap().metrics_on_main_port());
        let opt_in = load(&format!("[metrics]\non_main_port = true\n{merchant}")).unwrap();
        assert!(opt_in.metrics_on_main_port());
        let elsewhere =
            load("[metrics]\nlisten = \"127.0.0.1:9464\"\n[dev]\nenabled = true\n").unwrap();
        assert!(!elsewhere.metrics_on_main_port());
        let dev_off = load("[metrics]\non_main_port = false\n[dev]\nenabled = true\n").unwrap();
        assert!(!dev_off.metrics_on_main_port());
    }

    #[test]
    fn a_production_shaped_file_is_not_dev_mode() {
        let config = load(&format!(
            "[[merchants]]\nappid = \"m\"\nsecret = \"{GOOD_SECRET}\"\n"
        ))
        .unwrap();
        let mode = config.dev_mode();
        assert!(!mode.on, "a configured merchant and no [dev]: {mode:?}");
        assert!(!config.allow_private_targets(), "the SSRF guard is on");

        let config = load(&format!(
            "database_url = \"postgres://db/x\"\n[[merchants]]\nappid = \"m\"\nsecret = \"{GOOD_SECRET}\"\n"
        ))
        .unwrap();
        assert!(!config.dev_mode().on);

        let err = load("").unwrap_err().to_string();
        assert!(
            err.contains("`merchants`"),
            "an empty file is not dev mode: {err}"
        );

        let config = load("[dev]\nenabled = true\n").unwrap();
        assert!(config.dev_mode().on, "explicitly on");
        assert!(config.allow_private_targets());
    }

    #[test]
    fn dev_mode_off_loopback_needs_the_opt_in() {
        let err = load("listen = \"0.0.0.0:8080\"\n[dev]\nenabled = true\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("dev.allow_public_listen"), "{err}");
        let config =
            load("listen = \"0.0.0.0:8080\"\n[dev]\nenabled = true\nallow_public_listen = true\n")
                .unwrap();
        assert!(config.dev_mode().on);
        let mut config = load("[dev]\nenabled = true\n").unwrap();
        config.listen = "[::]:8080".parse().unwrap();
        assert!(
            config.validate().is_err(),
            "a command-line override is checked too"
        );
        let config = load(&format!(
            "listen = \"0.0.0.0:8080\"\n[[merchants]]\nappid = \"m\"\nsecret = \"{GOOD_SECRET}\"\n"
        ))
        .unwrap();
        assert!(
            !config.dev_mode().on,
            "production on a public address is fine"
        );
    }
}
