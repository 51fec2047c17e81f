//! Who did what: every operator action a use case carries out is one line of the log
//! target `audit`, written by the use case itself, so each front end (the admin API, the
//! console, the command line) gets it.

/// The front end an operator acted through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Via {
    /// The admin HTTP API (`/admin/…`, a bearer token).
    Api,
    /// The operator console (a signed-in session).
    Console,
    /// The `usdt-gateway` command line, on the gateway's host.
    Cli,
    /// A signal to the gateway's process (SIGHUP), sent by whoever may signal it.
    Signal,
}

/// The operator behind an action, as the audit log names them: the id of the credential
/// used (a short hash, never the credential), or the local user for the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// The credential's id, or `cli:<user>`.
    pub who: String,
    /// The front end.
    pub via: Via,
    /// The console session's id (a short hash), when acting through the console.
    pub session: Option<String>,
}

impl Actor {
    /// An operator of the admin API, by the id of the token used.
    pub fn api(who: String) -> Self {
        Self {
            who,
            via: Via::Api,
            session: None,
        }
    }

    /// An operator of the console, by the admin token's id and the session's id.
    pub fn console(who: String, session: String) -> Self {
        Self {
            who,
            via: Via::Console,
            session: Some(session),
        }
    }

    /// The local user running the command line (`cli:$USER`, else `cli:$LOGNAME`,
    /// else `cli`).
    pub fn cli() -> Self {
        let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME"));
        Self {
            who: user.map_or_else(|_| "cli".to_owned(), |user| format!("cli:{user}")),
            via: Via::Cli,
            session: None,
        }
    }

    /// The process's operator, through the signal `name` (`SIGHUP`).
    pub fn signal(name: &str) -> Self {
        Self {
            who: format!("signal:{name}"),
            via: Via::Signal,
            session: None,
        }
    }

    /// The front end's name in the log.
    pub fn via(&self) -> &'static str {
        self.via.into()
    }
}
