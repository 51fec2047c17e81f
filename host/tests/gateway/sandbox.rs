//! The sandbox, proven with a deliberately faulty build of the real component:
//! `usdt_recharge_faults.wasm` (the guest's feature `fault-injection`, built by
//! `usdt-recharge-component`'s feature `faults`), whose order path hangs, bloats or traps
//! when the order's `username` is `__hang__`, `__bloat__` or `__trap__`, and otherwise
//! judges exactly as the real build.
//!
//! What must hold: a faulty call ends in a [`RulesFault`] quickly (epoch deadline, memory
//! cap, trap), the broken instance is discarded and the next call is judged correctly,
//! many faults at once do not grow the process, the API answers 503 `RULES_UNAVAILABLE`
//! and keeps serving, and `serve --component PATH` runs such a build (or names the file
//! it could not load).

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::Value;
use usdt_gateway::api::ORDER_PATH;
use usdt_gateway::rules::{ErrorCode, Rules, RulesFault, RulesLimits};
use usdt_recharge_component::FAULTS_COMPONENT_PATH;

use crate::support::{
    APPID, Process, SECRET, TestEnv, fresh_address, fresh_orderid, order_body, query_body,
};
use crate::{TestApp, error_code};

/// Loops forever: the epoch deadline must cut it.
const HANG: &str = "__hang__";
/// Allocates without bound: the memory cap must stop it.
const BLOAT: &str = "__bloat__";
/// Panics (`unreachable`): a trap.
const TRAP: &str = "__trap__";
/// Every poisoned username.
const POISONED: [&str; 3] = [HANG, BLOAT, TRAP];

/// The call deadline of these tests.
const CALL_TIMEOUT: Duration = Duration::from_millis(50);
/// The memory cap of these tests.
const MAX_MEMORY: usize = 16 << 20;
/// The deadline of the bloat test: on a loaded machine a bloating call might reach the
/// 50 ms deadline before the memory cap, so this one is generous — only the cap can stop
/// the call in time. (The concurrent test runs bloat under the 50 ms deadline too.)
const BLOAT_CALL_TIMEOUT: Duration = Duration::from_secs(1);
/// Far above the deadlines; a fault must end well within it (not a benchmark).
const FAULT_WITHIN: Duration = Duration::from_secs(2);

fn faults_path() -> &'static Path {
    Path::new(FAULTS_COMPONENT_PATH)
}

/// The faulty build with the tests' memory cap and `call_timeout`, `APPID` as its
/// merchant.
fn faulty_rules(max_idle_instances: usize, call_timeout: Duration) -> Arc<Rules> {
    let rules = Rules::from_file(
        faults_path(),
        RulesLimits {
            call_timeout,
            max_memory_bytes: MAX_MEMORY,
            max_idle_instances,
            ..RulesLimits::default()
        },
    )
    .expect("the fault-injection build loads");
    rules.set_merchants(vec![(APPID.into(), SECRET.into())]);
    rules
}

/// A correctly signed order body of `APPID` for `username`.
fn order_text(username: &str) -> String {
    order_body(
        APPID,
        SECRET,
        username,
        &fresh_address(),
        &fresh_orderid(),
        1_000_000,
    )
    .to_string()
}

/// A call on a poisoned order: it must fail as a fault, and soon. Returns how long it
/// took and the fault's message.
fn expect_fault<T: std::fmt::Debug, E: std::fmt::Debug>(
    call: impl FnOnce() -> Result<Result<T, E>, RulesFault>,
    username: &str,
) -> (Duration, String) {
    let started = Instant::now();
    let result = call();
    let took = started.elapsed();
    let fault = match result {
        Err(fault) => fault,
        Ok(judged) => panic!("{username}: judged instead of a fault: {judged:?}"),
    };
    assert!(took < FAULT_WITHIN, "{username}: the fault took {took:?}");
    (took, fault.to_string())
}

/// The end of a fault's message, after its wasm backtrace: what stopped the call.
fn cause(message: &str) -> &str {
    let last = message.lines().last().unwrap_or_default();
    last.rsplit_once(": ").map_or(last, |(_, cause)| cause)
}

/// A normal order is accepted with its fields, and a tampered one is refused with
/// `SIGN_MISMATCH`: the rules judge correctly.
fn expect_judged_correctly(rules: &Rules) {
    let body = order_text("alice");
    let order = rules
        .check_order(&body)
        .expect("no fault on a normal order")
        .expect("a valid order is accepted");
    assert_eq!(order.fields.username, "alice");
    assert_eq!(order.fields.appid, APPID);
    assert_eq!(order.fields.amount, 1_000_000);

    let parsed = rules
        .parse_order(&body)
        .expect("no fault on a normal order")
        .expect("a valid order parses");
    assert_eq!(
        format!("{:?}", parsed.fields),
        format!("{:?}", order.fields)
    );

    let mut tampered: Value = serde_json::from_str(&body).unwrap();
    tampered["amount"] = Value::from(2_000_000);
    let rejections = rules
        .check_order(&tampered.to_string())
        .expect("no fault on a tampered order")
        .expect_err("a tampered order is refused");
    assert_eq!(rejections[0].code, ErrorCode::SignMismatch);
}

/// The fault's message for `username`: what stopped the call.
fn expected_cause(username: &str) -> &'static str {
    match username {
        HANG => "interrupt",
        BLOAT => "memory",
        _ => "unreachable",
    }
}

/// One poisoned username through `check_order` and `parse_order` on a pool of one idle
/// instance: each call faults in time with the expected cause, and the call after it is
/// judged correctly — a trapped instance left in the pool could not be entered again.
fn fault_then_recover(username: &str, call_timeout: Duration) {
    let rules = faulty_rules(1, call_timeout);
    expect_judged_correctly(&rules); // the pool now holds one used instance
    for round in 0..3 {
        let body = order_text(username);
        let (took, message) = expect_fault(|| rules.check_order(&body), username);
        eprintln!(
            "time to fault: check-order {username} #{round}: {took:?} ({})",
            cause(&message)
        );
        assert!(
            message.contains(expected_cause(username)),
            "{username}: {message}"
        );
        expect_judged_correctly(&rules);

        let (took, message) = expect_fault(|| rules.parse_order(&body), username);
        eprintln!(
            "time to fault: parse-order {username} #{round}: {took:?} ({})",
            cause(&message)
        );
        assert!(
            message.contains(expected_cause(username)),
            "{username}: {message}"
        );
        expect_judged_correctly(&rules);
    }
    // The sandbox counted each fault under its kind (what `/metrics` exports), and
    // nothing else as a fault; the recovered instance is back in the pool.
    let stats = rules.stats();
    let (kind, others) = match username {
        HANG => (stats.deadlines, stats.traps + stats.memory + stats.other),
        BLOAT => (stats.memory, stats.traps + stats.deadlines + stats.other),
        _ => (stats.traps, stats.deadlines + stats.memory + stats.other),
    };
    assert_eq!((kind, others), (6, 0), "{username}: {stats:?}");
    assert!(stats.calls > 6, "{stats:?}");
    assert_eq!(stats.idle_instances, 1, "{stats:?}");
}

#[test]
fn a_hanging_call_is_interrupted_at_the_deadline_and_the_pool_recovers() {
    fault_then_recover(HANG, CALL_TIMEOUT);
}

#[test]
fn a_bloating_call_is_stopped_by_the_memory_cap_and_the_pool_recovers() {
    fault_then_recover(BLOAT, BLOAT_CALL_TIMEOUT);
}

#[test]
fn a_trapping_call_is_a_fault_and_the_pool_recovers() {
    fault_then_recover(TRAP, CALL_TIMEOUT);
}

/// Component calls the counting guard below has run (only the test after it uses it).
static GUARDED: AtomicUsize = AtomicUsize::new(0);

/// A call guard that counts the calls it runs.
fn counting_guard(call: &mut dyn FnMut()) {
    GUARDED.fetch_add(1, Ordering::SeqCst);
    call();
}

/// The gateway's call guard (`block_in_place`) only takes a call that outlasted
/// `guard_after` in place: a hanging call is interrupted there after 1–2 ms, made again
/// once through the guard and cut at the deadline there; a quick call never enters it
/// (unless this thread was descheduled for over a millisecond mid-call, which the stats
/// then count as a rerun too).
#[test]
fn a_hanging_call_leaves_its_place_after_guard_after_and_runs_once_through_the_guard() {
    let rules = Rules::from_file(
        faults_path(),
        RulesLimits {
            call_timeout: CALL_TIMEOUT,
            max_memory_bytes: MAX_MEMORY,
            call_guard: Some(counting_guard),
            ..RulesLimits::default()
        },
    )
    .expect("the fault-injection build loads");
    rules.set_merchants(vec![(APPID.into(), SECRET.into())]);
    let before = GUARDED.load(Ordering::SeqCst);
    expect_judged_correctly(&rules);
    let quick = rules.stats();
    assert_eq!(quick.calls, 3, "{quick:?}");
    assert_eq!(
        GUARDED.load(Ordering::SeqCst) - before,
        quick.reruns_in_guard as usize
    );

    let (took, message) = expect_fault(|| rules.check_order(&order_text(HANG)), HANG);
    assert!(message.contains("interrupt"), "{message}");
    // Cut at the deadline of the run in the guard, not at the 1–2 ms in place.
    assert!(
        took >= CALL_TIMEOUT / 2,
        "cut before the deadline: {took:?}"
    );
    let hung = rules.stats();
    assert_eq!(hung.calls - quick.calls, 1, "{hung:?}");
    assert_eq!(hung.reruns_in_guard - quick.reruns_in_guard, 1, "{hung:?}");
    assert_eq!(
        (hung.deadlines, hung.traps, hung.memory, hung.other),
        (1, 0, 0, 0)
    );
    assert_eq!(
        GUARDED.load(Ordering::SeqCst) - before,
        hung.reruns_in_guard as usize
    );
    expect_judged_correctly(&rules);
}

#[test]
fn the_faulty_build_judges_every_other_input_exactly_as_the_real_build() {
    let faulty = faulty_rules(4, CALL_TIMEOUT);
    let real = Rules::builtin(RulesLimits::default()).unwrap();
    real.set_merchants(vec![(APPID.into(), SECRET.into())]);
    let valid = order_text("alice");
    let mut tampered: Value = serde_json::from_str(&valid).unwrap();
    tampered["amount"] = Value::from(7);
    let mut near_miss: Value = serde_json::from_str(&order_text("__hang")).unwrap();
    near_miss["sign"] = Value::from("0".repeat(32));
    let bodies = [
        valid,
        tampered.to_string(),
        near_miss.to_string(),
        order_text("__HANG__"),
        order_text("bloat"),
        order_body("nobody", SECRET, "bob", &fresh_address(), "o-1", 5).to_string(),
        r#"{"appid":"shop1","username":{"__hang__":1}}"#.to_owned(),
        r#"{"username":"__trap__""#.to_owned(),
        "[]".to_owned(),
        "not json".to_owned(),
        String::new(),
    ];
    for body in &bodies {
        assert_eq!(
            format!("{:?}", faulty.check_order(body).unwrap()),
            format!("{:?}", real.check_order(body).unwrap()),
            "check-order {body}"
        );
        assert_eq!(
            format!("{:?}", faulty.parse_order(body).unwrap()),
            format!("{:?}", real.parse_order(body).unwrap()),
            "parse-order {body}"
        );
    }
}

/// Resident memory of this process, from `/proc/self/status` (Linux).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[test]
fn many_faults_at_once_from_several_threads_leave_the_process_bounded() {
    const THREADS: usize = 4;
    const ROUNDS: usize = 10;
    let rules = faulty_rules(8, CALL_TIMEOUT);
    expect_judged_correctly(&rules);
    let before = resident_bytes();

    let started = Instant::now();
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let rules = &rules;
            scope.spawn(move || {
                for round in 0..ROUNDS {
                    // Every round touches up to the whole memory cap; leaked, 40 rounds
                    // would be 640 MiB.
                    let body = order_text(BLOAT);
                    expect_fault(|| rules.check_order(&body), BLOAT);
                    let other = if (thread + round) % 2 == 0 {
                        HANG
                    } else {
                        TRAP
                    };
                    let body = order_text(other);
                    expect_fault(|| rules.check_order(&body), other);
                    expect_judged_correctly(rules);
                }
            });
        }
    });
    let took = started.elapsed();
    expect_judged_correctly(&rules);

    if let (Some(before), Some(after)) = (before, resident_bytes()) {
        let grown = after.saturating_sub(before);
        eprintln!(
            "{} faults on {THREADS} threads in {took:?}; resident {} MiB -> {} MiB",
            THREADS * ROUNDS * 2,
            before >> 20,
            after >> 20
        );
        assert!(
            grown < 256 << 20,
            "resident memory grew by {} MiB over {} bloating calls",
            grown >> 20,
            THREADS * ROUNDS
        );
    }
}

/// The `[rules]` table that runs the faulty build with the tests' limits.
fn faulty_rules_table() -> String {
    format!(
        "[rules]\ncomponent = \"{}\"\nmax_memory_mib = {}\ncall_timeout = \"{}ms\"\n",
        faults_path().display(),
        MAX_MEMORY >> 20,
        CALL_TIMEOUT.as_millis()
    )
}

#[tokio::test]
async fn through_the_api_poisoned_orders_get_503_and_the_gateway_keeps_serving() {
    let app = TestApp::start_on(TestEnv::with_extra(&faulty_rules_table()).await).await;
    let limit = Duration::from_secs(5);
    for round in 0..2 {
        for username in POISONED {
            let orderid = fresh_orderid();
            let body = order_body(APPID, SECRET, username, &fresh_address(), &orderid, 1_000);
            let started = Instant::now();
            let (status, answer) = tokio::time::timeout(limit, app.order(&body))
                .await
                .unwrap_or_else(|_| panic!("{username}: no answer in {limit:?}"));
            eprintln!("time to 503: {username} #{round}: {:?}", started.elapsed());
            assert_eq!(
                status,
                StatusCode::SERVICE_UNAVAILABLE,
                "{username}: {answer}"
            );
            assert_eq!(error_code(&answer), "RULES_UNAVAILABLE", "{username}");

            // Nothing was recorded.
            let (status, answer) = app.query(&query_body(APPID, SECRET, &orderid)).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{username}: {answer}");

            // The next order is judged and stored.
            let orderid = fresh_orderid();
            let body = order_body(APPID, SECRET, "alice", &fresh_address(), &orderid, 1_000);
            let (status, answer) = tokio::time::timeout(limit, app.order(&body))
                .await
                .expect("a normal order is answered");
            assert_eq!(status, StatusCode::OK, "after {username}: {answer}");
            assert_eq!(answer["data"]["orderid"], orderid.as_str());
        }
    }
    let ready = axum::http::Request::get("/readyz")
        .body(axum::body::Body::empty())
        .unwrap();
    let (status, answer) = app.send(ready).await;
    assert_eq!(status, StatusCode::OK, "ready after the faults: {answer}");
}

#[tokio::test]
async fn serve_with_component_runs_the_faulty_build_in_a_real_process() {
    let env = TestEnv::with_extra("[rules]\ncall_timeout = \"50ms\"\n").await;
    let config = env.config_path.to_str().unwrap();
    let faults = faults_path().to_str().unwrap();
    let mut process = Process::start(
        env.dir.path(),
        &["serve", "--config", config, "--component", faults],
    );
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let post = |body: Value| {
        let request = client.post(process.url(ORDER_PATH)).json(&body);
        async move {
            let response = request.send().await.expect("an answer, not a hang");
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.expect("a JSON body"))
        }
    };
    let normal = || {
        let orderid = fresh_orderid();
        (
            orderid.clone(),
            order_body(APPID, SECRET, "alice", &fresh_address(), &orderid, 1_000),
        )
    };

    let (orderid, body) = normal();
    let (status, answer) = post(body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["orderid"], orderid.as_str());

    let started = Instant::now();
    let hang = order_body(
        APPID,
        SECRET,
        HANG,
        &fresh_address(),
        &fresh_orderid(),
        1_000,
    );
    let (status, answer) = post(hang).await;
    eprintln!("time to 503 (process): {HANG}: {:?}", started.elapsed());
    assert_eq!(status, 503, "{answer}");
    assert_eq!(error_code(&answer), "RULES_UNAVAILABLE");

    let (orderid, body) = normal();
    let (status, answer) = post(body).await;
    assert_eq!(status, 200, "after the hang: {answer}");
    assert_eq!(answer["data"]["orderid"], orderid.as_str());
    assert!(
        process.child.try_wait().unwrap().is_none(),
        "the process is still running"
    );
    process.signal("TERM");
    assert!(process.wait(Duration::from_secs(20)).success());
}

#[tokio::test]
async fn serve_with_a_missing_component_exits_naming_the_file() {
    let env = TestEnv::new().await;
    let missing = "/nonexistent.wasm";
    let mut child = Command::new(env!("CARGO_BIN_EXE_usdt-gateway"))
        .args(["serve", "--config", env.config_path.to_str().unwrap()])
        .args(["--component", missing])
        .current_dir(env.dir.path())
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start usdt-gateway");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("serve with a missing component did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!status.success(), "exit status {status}; stderr: {stderr}");
    assert!(
        stderr.contains(missing),
        "the error names the file: {stderr}"
    );
}
