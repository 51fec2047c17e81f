//! The merchant and operator commands: `sign`, `verify-callback`, `config check`.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::support::{TestEnv, md5_sign};

/// Run the binary with `args`, feeding `stdin`; its whole output.
pub(crate) fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_usdt-gateway"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

/// Standard output as text.
pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn sign_order_and_query_match_the_protocol_formula() {
    let out = run(
        &[
            "sign",
            "order",
            "--appid",
            "yourAppId",
            "--username",
            "alice",
            "--localusermark",
            "uid123",
            "--address",
            "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
            "--orderid",
            "myplat-1662299838",
            "--amount",
            "1000000",
            "--secret",
            "yourSecret",
        ],
        None,
    );
    assert!(out.status.success());
    let expected = md5_sign(&[
        "yourAppId",
        "alice",
        "uid123",
        "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
        "myplat-1662299838",
        "1000000",
        "yourSecret",
    ]);
    assert_eq!(stdout(&out).trim(), expected);
    assert_eq!(
        expected, "46f46280634e100934ebe318126bf854",
        "docs/protocol.md's worked example"
    );

    let out = run(
        &[
            "sign",
            "query",
            "--appid",
            "yourAppId",
            "--orderid",
            "myplat-1662299838",
            "--secret",
            "yourSecret",
            "--body",
        ],
        None,
    );
    let body: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        body["sign"],
        md5_sign(&["yourAppId", "myplat-1662299838", "yourSecret"])
    );
}

#[test]
fn verify_callback_accepts_the_real_thing_and_rejects_a_tampered_one() {
    let t = "1662299838";
    let sign = md5_sign(&["sh-56073d8a2ff5521a", "1", "30000", t, "yourSecret"]);
    let body = format!(
        "{{\"orderid\":\"sh-56073d8a2ff5521a\",\"localusermark\":\"1\",\"amount\":\"30000\",\"t\":\"{t}\",\"sign\":\"{sign}\"}}"
    );
    let args = [
        "verify-callback",
        "--secret",
        "yourSecret",
        "--now",
        "1662299900",
    ];
    let out = run(&args, Some(&body));
    assert!(out.status.success(), "{}", stdout(&out));
    let verdict: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(verdict["valid"], true);
    assert_eq!(verdict["usdt"], "3.0000");

    let out = run(&args, Some(&body.replace("30000", "90000")));
    assert_eq!(out.status.code(), Some(1));
    let verdict: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(verdict["code"], "SIGN_MISMATCH");

    let late = [
        "verify-callback",
        "--secret",
        "yourSecret",
        "--now",
        "1662300139",
    ];
    let verdict: Value = serde_json::from_str(&stdout(&run(&late, Some(&body)))).unwrap();
    assert_eq!(verdict["code"], "TIMESTAMP_OUT_OF_WINDOW");
}

#[tokio::test]
async fn config_check_names_the_bad_key_and_never_prints_secrets() {
    let env = TestEnv::new().await;
    let out = run(
        &[
            "config",
            "check",
            "--config",
            env.config_path.to_str().unwrap(),
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout(&out).contains("configuration OK"));
    assert!(!stdout(&out).contains(crate::support::SECRET));

    let bad = env.dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[dev]\nenabled = true\n[confirmations]\ndefault = 3\nlarge_required = 2\n",
    )
    .unwrap();
    let out = run(
        &["config", "check", "--config", bad.to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("confirmations"), "{err}");

    std::fs::write(
        &bad,
        "[dev]\nenabled = true\n[confirmations]\nlarge_amount = \"10000.00001\"\n",
    )
    .unwrap();
    let out = run(
        &["config", "check", "--config", bad.to_str().unwrap()],
        None,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("confirmations.large_amount"), "{err}");
}

/// Issue 22: `config check` accepted `aaaaaaaaaaaaaaaa` as the admin token. Weak tokens
/// are refused whether written in the file or named by `token_env`, and never echoed;
/// one made by `openssl rand -hex 32` passes.
#[test]
fn config_check_refuses_a_weak_admin_token_in_the_file_or_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.toml");
    let check = |toml: &str, env: &[(&str, &str)]| {
        std::fs::write(&path, format!("[dev]\nenabled = true\n{toml}")).unwrap();
        Command::new(env!("CARGO_BIN_EXE_usdt-gateway"))
            .args(["config", "check", "--config", path.to_str().unwrap()])
            .envs(env.iter().copied())
            .output()
            .unwrap()
    };
    for weak in [
        "aaaaaaaaaaaaaaaa",
        "0123456789abcdef0123456789abcdef0123456789abcdef",
    ] {
        let out = check(&format!("[admin]\ntoken = \"{weak}\"\n"), &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{weak} accepted: {err}");
        assert!(err.contains("admin.token"), "{err}");
        assert!(!err.contains(weak), "{err}");
        let out = check(
            "[admin]\ntoken_env = \"WEAK_ADMIN_TOKEN_FOR_CHECK\"\n",
            &[("WEAK_ADMIN_TOKEN_FOR_CHECK", weak)],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{weak} from the environment: {err}"
        );
        assert!(err.contains("admin.token"), "{err}");
    }
    let strong = "a1ebf6e6c59305594d87528a7a2bfa834aa6a14d215e190519e8e6bfdbf2963c";
    let out = check(&format!("[admin]\ntoken = \"{strong}\"\n"), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout(&out).contains("admin API and console: on"));
    assert!(!stdout(&out).contains(strong));
}
