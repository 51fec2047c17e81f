//! The operator's actions that change money state, raced (SQLite, and PostgreSQL in the
//! PostgreSQL pass): two operators assigning one unmatched deposit to two orders —
//! through the store and through the console with two sessions —, an assignment against
//! the watcher's own writes (a reorg orphaning the deposit, a new deposit taking the
//! order), resends against resends and against an attempt in flight; and the
//! consistency check (`Store::check_consistency`, `usdt-gateway db check`) that every
//! race must leave clean.

use std::sync::Arc;
use std::time::Duration;
use usdt_gateway_core::units::{Amount, UnixMillis};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tokio::sync::Barrier;
use tower::ServiceExt;
use usdt_gateway::clock::now_millis;
use usdt_gateway::store::{
    AssignOutcome, AttemptOutcome, AttemptRecord, ClaimSlots, DeliveryState, NewDeposit, NewOrder,
    OrderState, ResendOutcome, Scan, Store, Violation,
};

use crate::TestApp;
use crate::cli::{run, stdout};
use crate::support::{TestEnv, execute_sql, fresh_address};

/// Rounds of each race.
const ROUNDS: usize = 24;
const CHAIN: &str = "ERC20";
const MINUTE: Duration = Duration::from_secs(60);
const TOKEN: &str = "3c1f0a9d8e27b45c6a1d0e9f8b7c2a4d5e6f708192a3b4c5d6e7f8091a2b3c4d";

/// A store on a fresh database.
async fn store() -> (Store, TestEnv) {
    let env = TestEnv::new().await;
    let store = Store::open(&env.config().database()).await.unwrap();
    (store, env)
}

/// Pending orders of `amount` on `address` (one user), oldest first; their ordersns.
async fn orders(store: &Store, address: &str, amount: i64, n: usize) -> Vec<String> {
    let run = uuid::Uuid::new_v4().simple().to_string();
    let orders: Vec<NewOrder> = (0..n)
        .map(|i| NewOrder {
            ordersn: format!("cz-race-{run}-{i}").into(),
            appid: crate::support::APPID.into(),
            orderid: format!("race-{run}-{i}").into(),
            username: format!("payer-{}", &address[2..10]),
            localusermark: "m".into(),
            address: address.into(),
            canonical_address: address.into(),
            chain: CHAIN.into(),
            amount: Amount(amount),
            notify_url: None,
            required_confirmations: 1,
            created_at: UnixMillis(i64::try_from(i).unwrap()),
            expires_at: UnixMillis(i64::MAX),
        })
        .collect();
    store.create_orders(&orders).await.unwrap();
    orders
        .into_iter()
        .map(|o| o.ordersn.into_string())
        .collect()
}

/// A deposit of `amount` to `address` in block 100, stored by a scan as the watcher
/// stores it (matched to the oldest pending order there, if any); its txid.
async fn deposit(store: &Store, address: &str, amount: i64) -> String {
    let txid = format!("0x{}", uuid::Uuid::new_v4().simple());
    let scan = Scan {
        chain: CHAIN.into(),
        head: 1_000,
        next_block: 1_001,
        deposits: vec![NewDeposit {
            txid: txid.clone(),
            log_index: 0,
            address: address.into(),
            raw_value: amount.to_string(),
            amount,
            dust: "0".into(),
            block_number: 100,
            block_hash: "0xb100".into(),
            required_confirmations: 1,
        }],
        blocks: Vec::new(),
    };
    assert_eq!(store.record_scan(&scan, now_millis()).await.unwrap(), 1);
    txid
}

/// Confirm every deposit waiting on the chain, as the watcher does.
async fn confirm_all(store: &Store) {
    for open in store.open_deposits(CHAIN).await.unwrap() {
        store.confirm_deposit(open.id, now_millis()).await.unwrap();
    }
}

/// A confirmed order with its delivery pending (the normal flow: order, deposit,
/// confirmation); its ordersn.
async fn paid_order(store: &Store) -> String {
    let address = fresh_address();
    let ordersn = orders(store, &address, 50_000, 1).await.remove(0);
    deposit(store, &address, 50_000).await;
    confirm_all(store).await;
    let order = store.order_by_ordersn(&ordersn).await.unwrap().unwrap();
    assert_eq!(order.status, OrderState::Confirmed);
    ordersn
}

async fn assert_consistent(store: &Store) {
    let violations = store.check_consistency().await.unwrap();
    assert!(violations.is_empty(), "violations: {violations:?}");
}

/// The winner of a two-way assignment race, after checking that exactly one won and
/// the loser changed nothing.
async fn one_winner(store: &Store, contenders: &[String], outcomes: &[AssignOutcome]) -> String {
    let winners: Vec<&String> = contenders
        .iter()
        .zip(outcomes)
        .filter(|(_, o)| **o == AssignOutcome::Assigned)
        .map(|(c, _)| c)
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one assignment wins: {outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, AssignOutcome::Assigned | AssignOutcome::NoDeposit)),
        "the loser finds the deposit taken: {outcomes:?}"
    );
    let winner = winners[0].clone();
    for ordersn in contenders {
        let order = store.order_by_ordersn(ordersn).await.unwrap().unwrap();
        if *ordersn == winner {
            assert_eq!(order.status, OrderState::Confirming);
            assert_eq!(order.received_amount, Amount(70_000));
            let deposit = store.order_deposit(ordersn).await.unwrap().unwrap();
            assert_eq!(deposit.ordersn.as_deref(), Some(ordersn.as_str()));
        } else {
            assert_eq!(order.status, OrderState::Pending, "the loser is untouched");
            assert_eq!(order.received_amount, Amount(0));
        }
    }
    winner
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_operators_assigning_one_deposit_to_two_orders_leave_one_winner() {
    let (store, _env) = store().await;
    for _ in 0..ROUNDS {
        let address = fresh_address();
        // Paid before any order: no order takes it.
        let txid = deposit(&store, &address, 70_000).await;
        let contenders = orders(&store, &address, 70_000, 2).await;
        let barrier = Arc::new(Barrier::new(contenders.len()));
        let mut tasks = Vec::new();
        for ordersn in contenders.clone() {
            let (store, txid, barrier) = (store.clone(), txid.clone(), barrier.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                store
                    .assign_deposit(CHAIN, &txid, 0, &ordersn, now_millis())
                    .await
                    .unwrap()
            }));
        }
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.unwrap());
        }
        one_winner(&store, &contenders, &outcomes).await;
        assert_consistent(&store).await;
    }
    // The watcher then confirms the winners, and only them.
    confirm_all(&store).await;
    assert_consistent(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_assignment_racing_the_watcher_leaves_every_order_consistent() {
    let (store, _env) = store().await;
    for round in 0..ROUNDS {
        // Against a reorg that orphans the deposit.
        let address = fresh_address();
        let txid = deposit(&store, &address, 70_000).await;
        let ordersn = orders(&store, &address, 70_000, 1).await.remove(0);
        let barrier = Arc::new(Barrier::new(2));
        let assign = {
            let (store, txid, ordersn, barrier) = (
                store.clone(),
                txid.clone(),
                ordersn.clone(),
                barrier.clone(),
            );
            tokio::spawn(async move {
                barrier.wait().await;
                store
                    .assign_deposit(CHAIN, &txid, 0, &ordersn, now_millis())
                    .await
                    .unwrap()
            })
        };
        let reorg = {
            let (store, barrier) = (store.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store.rewind(CHAIN, 99, now_millis()).await.unwrap()
            })
        };
        let outcome = assign.await.unwrap();
        reorg.await.unwrap();
        assert!(
            matches!(outcome, AssignOutcome::Assigned | AssignOutcome::NoDeposit),
            "round {round}: {outcome:?}"
        );
        // Whichever came first, the deposit is gone and the order is pending again.
        let order = store.order_by_ordersn(&ordersn).await.unwrap().unwrap();
        assert_eq!(
            order.status,
            OrderState::Pending,
            "round {round}: {outcome:?}"
        );
        assert_eq!(order.received_amount, Amount(0));
        assert_consistent(&store).await;

        // Against a new deposit that the watcher matches to the same order.
        let address = fresh_address();
        let txid = deposit(&store, &address, 70_000).await;
        let ordersn = orders(&store, &address, 70_000, 1).await.remove(0);
        let barrier = Arc::new(Barrier::new(2));
        let assign = {
            let (store, txid, ordersn, barrier) = (
                store.clone(),
                txid.clone(),
                ordersn.clone(),
                barrier.clone(),
            );
            tokio::spawn(async move {
                barrier.wait().await;
                store
                    .assign_deposit(CHAIN, &txid, 0, &ordersn, now_millis())
                    .await
                    .unwrap()
            })
        };
        let scan = {
            let (store, address, barrier) = (store.clone(), address.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                deposit(&store, &address, 70_000).await
            })
        };
        let outcome = assign.await.unwrap();
        let second = scan.await.unwrap();
        let credited = store.order_deposit(&ordersn).await.unwrap().unwrap();
        match outcome {
            AssignOutcome::Assigned => assert_eq!(credited.txid, txid),
            AssignOutcome::NoOrder => assert_eq!(credited.txid, second),
            AssignOutcome::NoDeposit => panic!("round {round}: the deposit was unmatched"),
        }
        let order = store.order_by_ordersn(&ordersn).await.unwrap().unwrap();
        assert_eq!(order.status, OrderState::Confirming);
        assert_consistent(&store).await;
    }
    confirm_all(&store).await;
    assert_consistent(&store).await;
}

/// The console's answer to a form: status and body text.
async fn post_form(app: &TestApp, path: &str, cookie: &str, form: String) -> (StatusCode, String) {
    let request = Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, cookie)
        .body(Body::from(form))
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// A console session: its cookie and CSRF token.
async fn login(app: &TestApp) -> (String, String) {
    let request = Request::post("/admin/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("token={TOKEN}")))
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = response.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let request = Request::get("/admin/orders")
        .header(header::COOKIE, &cookie)
        .body(Body::empty())
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes);
    let csrf = text
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    (cookie, csrf)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_console_sessions_assigning_one_deposit_leave_one_winner() {
    let env = TestEnv::with_extra(&format!("[admin]\ntoken = \"{TOKEN}\"\n")).await;
    let app = TestApp::start_on(env).await;
    let store = app.gateway.state().store.clone();
    let sessions = [login(&app).await, login(&app).await];
    let app = Arc::new(app);
    for _ in 0..8 {
        let address = fresh_address();
        let txid = deposit(&store, &address, 70_000).await;
        let contenders = orders(&store, &address, 70_000, 2).await;
        let barrier = Arc::new(Barrier::new(2));
        let mut tasks = Vec::new();
        for ((cookie, csrf), ordersn) in sessions.iter().cloned().zip(contenders.clone()) {
            let (app, barrier, txid) = (app.clone(), barrier.clone(), txid.clone());
            tasks.push(tokio::spawn(async move {
                let form =
                    format!("csrf={csrf}&chain={CHAIN}&txid={txid}&log_index=0&ordersn={ordersn}");
                barrier.wait().await;
                post_form(&app, "/admin/unmatched/assign", &cookie, form).await
            }));
        }
        let mut outcomes = Vec::new();
        for task in tasks {
            let (status, text) = task.await.unwrap();
            outcomes.push(match status {
                StatusCode::SEE_OTHER => AssignOutcome::Assigned,
                StatusCode::CONFLICT => {
                    assert!(text.contains("not unmatched any more"), "{text}");
                    AssignOutcome::NoDeposit
                }
                other => panic!("unexpected {other}: {text}"),
            });
        }
        one_winner(&store, &contenders, &outcomes).await;
        assert_consistent(&store).await;
    }
    Arc::into_inner(app).unwrap().stop().await;
}

fn slots() -> ClaimSlots {
    ClaimSlots {
        total: 10,
        per_merchant: 10,
        busy: Default::default(),
        scan: 10,
    }
}

fn delivered(at: i64) -> AttemptRecord {
    AttemptRecord {
        started_at: at,
        t: at / 1_000,
        status_code: Some(200),
        body_prefix: Some("success".into()),
        latency_ms: 1,
        error: None,
        outcome: AttemptOutcome::Delivered,
        next_state: DeliveryState::Delivered,
        next_attempt_at: at,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resend_never_puts_a_second_attempt_beside_one_in_flight() {
    let (store, _env) = store().await;
    let ordersn = paid_order(&store).await;
    let now = now_millis();
    let first = store
        .claim_callbacks("first", now, MINUTE, &slots())
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    // The attempt is in flight: the resend changes nothing, no other claim takes it.
    assert_eq!(
        store.resend_callback(&ordersn, now).await.unwrap(),
        ResendOutcome::InFlight
    );
    let second = store
        .claim_callbacks("second", now_millis() + 1_000, MINUTE, &slots())
        .await
        .unwrap();
    assert!(second.is_empty(), "a second attempt in flight: {second:?}");
    // Its outcome is recorded; a resend after it starts a new series.
    let recorded = store
        .record_attempts(&[(first[0].clone(), delivered(now))], now_millis())
        .await
        .unwrap();
    assert_eq!(recorded, [true]);
    assert_eq!(
        store.resend_callback(&ordersn, now_millis()).await.unwrap(),
        ResendOutcome::Resent
    );
    let record = store.callback_record(&ordersn).await.unwrap().unwrap();
    assert_eq!(record.state, DeliveryState::Pending);
    assert_eq!(record.attempts, 0);
    // A lease that ran out is taken over, and its late outcome is not recorded.
    let lapsing = store
        .claim_callbacks("lapsing", now_millis(), Duration::from_millis(1), &slots())
        .await
        .unwrap();
    assert_eq!(lapsing.len(), 1);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        store.resend_callback(&ordersn, now_millis()).await.unwrap(),
        ResendOutcome::Resent
    );
    let late = store
        .record_attempts(&[(lapsing[0].clone(), delivered(now))], now_millis())
        .await
        .unwrap();
    assert_eq!(late, [false]);
    assert_eq!(
        store
            .resend_callback("cz-none", now_millis())
            .await
            .unwrap(),
        ResendOutcome::NoDelivery
    );
    assert_consistent(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn resends_racing_resends_and_claims_never_give_two_attempts() {
    let (store, env) = store().await;
    let ordersn = paid_order(&store).await;
    for round in 0..ROUNDS {
        // Given up on: only a resend makes it due again.
        execute_sql(
            &env,
            &format!(
                "UPDATE callbacks SET state = 'failed', lease_owner = NULL, lease_until = NULL \
                 WHERE ordersn = '{ordersn}'"
            ),
        )
        .await;
        let barrier = Arc::new(Barrier::new(4));
        let mut resends = Vec::new();
        let mut claims = Vec::new();
        for i in 0..2 {
            let (store_for_claims, barrier_for_claims) = (&store, &barrier);
            let (store, barrier, ordersn) = (store.clone(), barrier.clone(), ordersn.clone());
            resends.push(tokio::spawn(async move {
                barrier.wait().await;
                store.resend_callback(&ordersn, now_millis()).await.unwrap()
            }));
            let (store, barrier) = (store_for_claims.clone(), barrier_for_claims.clone());
            claims.push(tokio::spawn(async move {
                barrier.wait().await;
                // A replica a second ahead: due whatever the order of the two clocks.
                store
                    .claim_callbacks(
                        &format!("r{round}-{i}"),
                        now_millis() + 1_000,
                        MINUTE,
                        &slots(),
                    )
                    .await
                    .unwrap()
            }));
        }
        let mut resent = 0;
        for task in resends {
            if task.await.unwrap() == ResendOutcome::Resent {
                resent += 1;
            }
        }
        let mut claimed = 0;
        for task in claims {
            claimed += task.await.unwrap().len();
        }
        assert!(
            resent >= 1,
            "round {round}: the first resend finds no lease"
        );
        assert!(
            claimed <= 1,
            "round {round}: {claimed} attempts in flight at once"
        );
        let after = store
            .claim_callbacks("after", now_millis() + 1_000, MINUTE, &slots())
            .await
            .unwrap();
        assert!(
            claimed + after.len() == 1,
            "round {round}: one attempt in flight, not {}",
            claimed + after.len()
        );
    }
    assert_consistent(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consistency_check_is_clean_after_normal_flows_and_names_what_was_broken_by_hand() {
    let (store, env) = store().await;
    let config = env.config_path.to_str().unwrap().to_owned();
    // Every flow: paid and confirmed, assigned by hand and confirmed, unmatched, orphaned.
    let paid = paid_order(&store).await;
    let address = fresh_address();
    let txid = deposit(&store, &address, 70_000).await;
    let assigned = orders(&store, &address, 70_000, 1).await.remove(0);
    assert_eq!(
        store
            .assign_deposit(CHAIN, &txid, 0, &assigned, now_millis())
            .await
            .unwrap(),
        AssignOutcome::Assigned
    );
    confirm_all(&store).await;
    let address = fresh_address();
    let orphaned = orders(&store, &address, 70_000, 1).await.remove(0);
    deposit(&store, &address, 70_000).await;
    assert_eq!(store.rewind(CHAIN, 99, now_millis()).await.unwrap(), 1);
    deposit(&store, &fresh_address(), 1_000).await;
    let pending = orders(&store, &fresh_address(), 70_000, 1).await.remove(0);
    assert_consistent(&store).await;
    let out = run(&["db", "check", "--config", &config], None);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(stdout(&out), "");

    // Broken by hand: money on an order with no deposit, a deposit whose amount the
    // order does not show, a confirmed order without its callback.
    execute_sql(
        &env,
        &format!(
            "UPDATE orders SET status = 'confirming', received_amount = 70000 \
             WHERE ordersn = '{pending}'"
        ),
    )
    .await;
    execute_sql(
        &env,
        &format!("UPDATE orders SET received_amount = 1 WHERE ordersn = '{assigned}'"),
    )
    .await;
    execute_sql(
        &env,
        &format!("DELETE FROM callbacks WHERE ordersn = '{paid}'"),
    )
    .await;
    let violation = |check: &str, ordersn: &str, deposit: Option<String>| Violation {
        check: check.into(),
        ordersn: ordersn.into(),
        deposit,
    };
    let mut expected = vec![
        violation("order_without_deposit", &pending, None),
        violation(
            "deposit_disagrees_with_order",
            &assigned,
            Some(format!("{CHAIN}:{txid}:0")),
        ),
        violation("callback_disagrees_with_order", &assigned, None),
        violation("confirmed_without_callback", &paid, None),
    ];
    let key = |v: &Violation| (v.ordersn.clone(), v.check.clone());
    expected.sort_by_key(key);
    let mut found = store.check_consistency().await.unwrap();
    found.sort_by_key(key);
    assert_eq!(found, expected);
    let out = run(&["db", "check", "--config", &config], None);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), expected.len());
    for v in &expected {
        assert!(
            lines
                .iter()
                .any(|l| l["check"] == v.check.as_str() && l["ordersn"] == v.ordersn.as_str()),
            "{v} printed"
        );
    }
    // The orphaned order is pending again and was never reported.
    assert!(lines.iter().all(|l| l["ordersn"] != orphaned.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resend_in_flight_is_refused_by_the_console_the_admin_api_and_the_cli() {
    let env = TestEnv::with_extra(&format!("[admin]\ntoken = \"{TOKEN}\"\n")).await;
    let config = env.config_path.to_str().unwrap().to_owned();
    let app = TestApp::start_on(env).await;
    let store = app.gateway.state().store.clone();
    let ordersn = paid_order(&store).await;
    // Under a live lease (another replica's attempt, far from its end).
    let hold = format!(
        "UPDATE callbacks SET state = 'pending', lease_owner = 'elsewhere', \
         lease_until = 9000000000000000 WHERE ordersn = '{ordersn}'"
    );
    assert_eq!(execute_sql(&app.env, &hold).await, 1);
    let admin = |ordersn: &str| {
        Request::post(format!("/admin/callbacks/{ordersn}/resend"))
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
            .body(Body::empty())
            .unwrap()
    };
    let (status, body) = app.send(admin(&ordersn)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(crate::error_code(&body), "DELIVERY_IN_FLIGHT");
    let (cookie, csrf) = login(&app).await;
    let path = format!("/admin/deliveries/{ordersn}/resend");
    let (status, text) = post_form(&app, &path, &cookie, format!("csrf={csrf}")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{text}");
    assert!(text.contains("in flight"), "{text}");
    let out = run(
        &["callbacks", "resend", "--config", &config, &ordersn],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("in flight"),
        "{out:?}"
    );
    // Nothing changed: the lease is still the other replica's.
    let leased = store
        .claim_callbacks("mine", now_millis() + 1_000, MINUTE, &slots())
        .await
        .unwrap();
    assert!(leased.is_empty());
    // Once the lease is over, each of them resends.
    let lapse = format!("UPDATE callbacks SET lease_until = 0 WHERE ordersn = '{ordersn}'");
    assert_eq!(execute_sql(&app.env, &lapse).await, 1);
    let (status, body) = app.send(admin(&ordersn)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app.send(admin("cz-none")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(crate::error_code(&body), "ORDER_NOT_FOUND");
    app.stop().await;
}
