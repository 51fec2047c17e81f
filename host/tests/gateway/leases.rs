//! The outbox's leases on the store itself (SQLite, or PostgreSQL in the PostgreSQL
//! pass): a claim takes no more than the free slots, a live lease is never taken — not
//! even by a replica whose clock runs an hour ahead — an expired lease is neither renewed
//! nor recorded, and a recorded delivery is never claimed again.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use usdt_gateway_core::units::{Amount, UnixMillis};

use usdt_gateway::clock::now_millis;
use usdt_gateway::store::{
    AttemptOutcome, AttemptRecord, ClaimSlots, DeliveryState, DueCallback, NewOrder, Store,
};

use crate::support::{TestEnv, execute_sql};

/// A store on a fresh database.
async fn outbox() -> (Store, TestEnv) {
    let env = TestEnv::new().await;
    let store = Store::open(&env.config().database()).await.unwrap();
    (store, env)
}

/// `n` confirmed orders of `appid` with a pending delivery each, due at `due + i`;
/// their ordersns, oldest due first.
async fn deliveries(store: &Store, env: &TestEnv, appid: &str, n: usize, due: i64) -> Vec<String> {
    let run = uuid::Uuid::new_v4().simple().to_string();
    let orders: Vec<NewOrder> = (0..n)
        .map(|i| NewOrder {
            ordersn: format!("cz-{run}-{i:03}").into(),
            appid: appid.into(),
            orderid: format!("o-{run}-{i}").into(),
            username: "u".into(),
            localusermark: "m".into(),
            address: format!("0x{}{i:08x}", &run[..32]),
            canonical_address: format!("0x{}{i:08x}", &run[..32]),
            chain: "ERC20".into(),
            amount: Amount(10_000),
            notify_url: None,
            required_confirmations: 1,
            created_at: UnixMillis(0),
            expires_at: UnixMillis(i64::MAX),
        })
        .collect();
    store.create_orders(&orders).await.unwrap();
    for (i, order) in orders.iter().enumerate() {
        let statement = format!(
            "INSERT INTO callbacks (ordersn, appid, notify_url, amount, state, attempts, \
             next_attempt_at, created_at, updated_at) \
             VALUES ('{}', '{appid}', NULL, 10000, 'pending', 0, {}, 0, 0)",
            order.ordersn,
            due + i64::try_from(i).unwrap()
        );
        assert_eq!(execute_sql(env, &statement).await, 1);
    }
    orders
        .into_iter()
        .map(|o| o.ordersn.into_string())
        .collect()
}

fn slots(total: i64, per_merchant: i64, busy: &[(&str, i64)]) -> ClaimSlots {
    ClaimSlots {
        total,
        per_merchant,
        busy: busy
            .iter()
            .map(|(appid, n)| ((*appid).to_owned(), *n))
            .collect::<BTreeMap<_, _>>(),
        scan: 1000,
    }
}

fn ordersns(claimed: &[DueCallback]) -> Vec<&str> {
    claimed.iter().map(|d| d.ordersn.as_str()).collect()
}

fn delivered() -> AttemptRecord {
    AttemptRecord {
        started_at: now_millis(),
        t: now_millis() / 1000,
        status_code: Some(200),
        body_prefix: Some("success".into()),
        latency_ms: 5,
        error: None,
        outcome: AttemptOutcome::Delivered,
        next_state: DeliveryState::Delivered,
        next_attempt_at: now_millis(),
    }
}

const MINUTE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_takes_no_more_than_the_free_slots() {
    let (store, env) = outbox().await;
    let a = deliveries(&store, &env, "shop-a", 10, 1_000).await;
    let b = deliveries(&store, &env, "shop-b", 3, 2_000).await;
    let now = now_millis();

    // 4 per merchant, one of shop-a's already in flight: 3 of shop-a's, oldest first,
    // and all 3 of shop-b's.
    let first = store
        .claim_callbacks("t1", now, MINUTE, &slots(100, 4, &[("shop-a", 1)]))
        .await
        .unwrap();
    let mut by_merchant: HashMap<&str, Vec<&str>> = HashMap::new();
    for d in &first {
        by_merchant.entry(&d.appid).or_default().push(&d.ordersn);
        assert_eq!(d.lease, "t1");
        assert_eq!((d.attempts, d.next_number), (0, 1));
    }
    assert_eq!(
        by_merchant["shop-a"],
        a[..3].iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert_eq!(by_merchant["shop-b"].len(), 3, "{first:?}");

    // Two free slots in all: the two oldest not leased.
    let second = store
        .claim_callbacks("t2", now, MINUTE, &slots(2, 4, &[]))
        .await
        .unwrap();
    assert_eq!(ordersns(&second), [a[3].as_str(), a[4].as_str()]);

    // shop-a full, shop-b all leased: nothing; no free slot at all: nothing.
    let full = store
        .claim_callbacks("t3", now, MINUTE, &slots(100, 4, &[("shop-a", 4)]))
        .await
        .unwrap();
    assert!(full.is_empty(), "{full:?}");
    let none = store
        .claim_callbacks("t3", now, MINUTE, &slots(0, 4, &[]))
        .await
        .unwrap();
    assert!(none.is_empty(), "{none:?}");
    assert!(
        b.iter()
            .all(|o| by_merchant["shop-b"].contains(&o.as_str()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_lease_is_not_taken_by_a_replica_whose_clock_runs_ahead() {
    let (store, env) = outbox().await;
    let ours = deliveries(&store, &env, "shop-a", 2, 1_000).await;
    let now = now_millis();
    let claimed = store
        .claim_callbacks("ours", now, MINUTE, &slots(10, 10, &[]))
        .await
        .unwrap();
    assert_eq!(ordersns(&claimed), [ours[0].as_str(), ours[1].as_str()]);

    // A replica an hour ahead still sees the leases live: they run on the database's
    // clock, not on the claimer's.
    let hour_ahead = now + 3_600_000;
    let stolen = store
        .claim_callbacks("ahead", hour_ahead, MINUTE, &slots(10, 10, &[]))
        .await
        .unwrap();
    assert!(stolen.is_empty(), "{stolen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_lease_is_not_renewed_nor_recorded_once_taken_over() {
    let (store, env) = outbox().await;
    let rows = deliveries(&store, &env, "shop-a", 3, 1_000).await;
    let short = Duration::from_secs(2);
    let now = now_millis();
    let lapsing = store
        .claim_callbacks("lapsing", now, short, &slots(1, 10, &[]))
        .await
        .unwrap();
    let renewed = store
        .claim_callbacks("renewed", now, short, &slots(1, 10, &[]))
        .await
        .unwrap();
    assert_eq!(ordersns(&lapsing), [rows[0].as_str()]);
    assert_eq!(ordersns(&renewed), [rows[1].as_str()]);
    let unclaimed = store
        .claim_callbacks("lapsed-alone", now, short, &slots(1, 10, &[]))
        .await
        .unwrap();
    assert_eq!(ordersns(&unclaimed), [rows[2].as_str()]);
    let held = store.renew_leases(&["renewed"], MINUTE).await.unwrap();
    assert!(held.contains("renewed"), "{held:?}");

    // Past the 2 s leases: only the renewed one is still held.
    tokio::time::sleep(short + Duration::from_secs(1)).await;
    let held = store
        .renew_leases(&["lapsing", "renewed", "lapsed-alone"], MINUTE)
        .await
        .unwrap();
    assert_eq!(held.len(), 1, "only the renewed lease: {held:?}");
    let taken_over = store
        .claim_callbacks("next", now_millis(), MINUTE, &slots(1, 10, &[]))
        .await
        .unwrap();
    assert_eq!(
        ordersns(&taken_over),
        [rows[0].as_str()],
        "the oldest lapsed one"
    );

    let recorded = store
        .record_attempts(
            &[
                (lapsing[0].clone(), delivered()),
                (renewed[0].clone(), delivered()),
                (unclaimed[0].clone(), delivered()),
            ],
            now_millis(),
        )
        .await
        .unwrap();
    assert_eq!(
        recorded,
        [false, true, true],
        "not once another claim took it over; a lapsed lease nobody took is still recorded \
         (not recording it would only send the callback again)"
    );
    let (record, attempts) = store.callback(&rows[1]).await.unwrap().unwrap();
    assert_eq!(
        (record.state, attempts.len()),
        (DeliveryState::Delivered, 1)
    );
    let (record, attempts) = store.callback(&rows[0]).await.unwrap().unwrap();
    assert_eq!((record.state, attempts.len()), (DeliveryState::Pending, 0));

    // Delivered: never claimed again, whatever the time.
    let again = store
        .claim_callbacks(
            "later",
            now_millis() + 86_400_000,
            MINUTE,
            &slots(10, 10, &[]),
        )
        .await
        .unwrap();
    assert!(again.is_empty(), "{again:?}");
}

/// A resend is announced to every dispatcher on PostgreSQL (whichever process resent:
/// another replica, the command line): a listener on another connection is woken. On
/// SQLite there is no channel and the forwarding returns at once (the dispatcher sees
/// the delivery at its next look at the outbox).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resend_wakes_the_dispatchers_of_other_processes_on_postgresql() {
    let (store, env) = outbox().await;
    let other = Store::open(&env.config().database()).await.unwrap();
    let wake = std::sync::Arc::new(tokio::sync::Notify::new());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let listening = {
        let wake = std::sync::Arc::clone(&wake);
        tokio::spawn(async move { other.forward_announcements(wake, stopped).await })
    };
    let ordersn = deliveries(&store, &env, "announce", 1, i64::MAX / 2)
        .await
        .remove(0);
    if store.backend() == usdt_gateway::store::Backend::Sqlite {
        tokio::time::timeout(Duration::from_secs(5), listening)
            .await
            .expect("nothing to listen to on SQLite")
            .unwrap();
        return;
    }
    // The listener is connected once a first announcement gets through: resend until
    // one does (each resend is announced).
    let woken = async {
        loop {
            store.resend_callback(&ordersn, now_millis()).await.unwrap();
            if tokio::time::timeout(Duration::from_millis(200), wake.notified())
                .await
                .is_ok()
            {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), woken)
        .await
        .expect("a resend woke the listener");
    stop.send(true).unwrap();
    listening.await.unwrap();
}
