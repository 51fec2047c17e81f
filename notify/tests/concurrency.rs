//! Per-merchant and global limits on attempts in flight.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)] // test code: a failed expectation is a failed test

mod support;

use std::time::{Duration, Instant};

use support::{Reply, TestReceiver};
use usdt_callback_http::{CallbackHttp, Outcome, TransportConfig};

fn config(per_merchant: usize, total: usize) -> TransportConfig {
    TransportConfig {
        timeout: Duration::from_secs(5),
        allow_private_targets: true,
        max_in_flight_per_merchant: per_merchant,
        max_in_flight_total: total,
        ..TransportConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_merchant_does_not_delay_another() {
    let slow = TestReceiver::start().await;
    slow.set_default(Reply::success().delayed(Duration::from_millis(1200)));
    let fast = TestReceiver::start().await;
    let http = CallbackHttp::new(config(2, 256)).unwrap();

    let started = Instant::now();
    let slow_attempts: Vec<_> = (0..4)
        .map(|i| {
            let http = http.clone();
            let url = slow.url(&format!("/slow/{i}"));
            tokio::spawn(async move { http.deliver("slow", &url, "{}".into()).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(
        slow.count(),
        2,
        "only two of the slow merchant's attempts in flight"
    );

    let fast_attempt = http.deliver("fast", &fast.url("/fast"), "{}".into()).await;
    let fast_done = started.elapsed();
    assert_eq!(fast_attempt.outcome, Outcome::Delivered);
    assert!(
        fast_attempt.queued < Duration::from_millis(100),
        "{fast_attempt:?}"
    );
    assert!(
        fast_done < Duration::from_millis(800),
        "the fast merchant finished after {fast_done:?}"
    );

    let mut queued = Vec::new();
    for handle in slow_attempts {
        let attempt = handle.await.unwrap();
        assert_eq!(attempt.outcome, Outcome::Delivered);
        queued.push(attempt.queued);
    }
    queued.sort();
    assert!(queued[1] < Duration::from_millis(100), "{queued:?}");
    assert!(queued[2] >= Duration::from_millis(1000), "{queued:?}");
    assert_eq!(slow.max_in_flight(), 2);
    assert_eq!(slow.count(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_global_cap_applies_across_merchants() {
    let rx = TestReceiver::start().await;
    rx.set_default(Reply::success().delayed(Duration::from_millis(400)));
    let http = CallbackHttp::new(config(16, 1)).unwrap();

    let a = {
        let http = http.clone();
        let url = rx.url("/a");
        tokio::spawn(async move { http.deliver("a", &url, "{}".into()).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let b = http.deliver("b", &rx.url("/b"), "{}".into()).await;
    let a = a.await.unwrap();
    assert_eq!(a.outcome, Outcome::Delivered);
    assert_eq!(b.outcome, Outcome::Delivered);
    assert!(b.queued >= Duration::from_millis(300), "{b:?}");
    assert_eq!(rx.max_in_flight(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_attempt_frees_its_slot() {
    let rx = TestReceiver::start().await;
    rx.script([Reply::success().delayed(Duration::from_secs(10))]);
    let http = CallbackHttp::new(config(1, 256)).unwrap();

    let stuck = {
        let http = http.clone();
        let url = rx.url("/stuck");
        tokio::spawn(async move { http.deliver("m", &url, "{}".into()).await })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    stuck.abort();
    let _ = stuck.await;

    let attempt = http.deliver("m", &rx.url("/next"), "{}".into()).await;
    assert_eq!(attempt.outcome, Outcome::Delivered);
    assert!(attempt.queued < Duration::from_millis(100), "{attempt:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_merchants_each_get_their_own_limit() {
    let rx = TestReceiver::start().await;
    rx.set_default(Reply::success().delayed(Duration::from_millis(300)));
    let http = CallbackHttp::new(config(1, 256)).unwrap();
    let started = Instant::now();
    let handles: Vec<_> = (0..20)
        .map(|i| {
            let http = http.clone();
            let url = rx.url(&format!("/m/{i}"));
            tokio::spawn(async move {
                http.deliver(&format!("merchant-{i}"), &url, "{}".into())
                    .await
            })
        })
        .collect();
    for handle in handles {
        assert_eq!(handle.await.unwrap().outcome, Outcome::Delivered);
    }
    // With limit 1 per merchant but 20 merchants, all run at once.
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert!(rx.max_in_flight() > 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliver_if_asks_once_the_slots_are_held_and_sends_nothing_on_no() {
    let rx = TestReceiver::start().await;
    rx.set_default(Reply::success().delayed(Duration::from_millis(400)));
    let http = CallbackHttp::new(config(1, 256)).unwrap();

    let first = {
        let http = http.clone();
        let url = rx.url("/first");
        tokio::spawn(async move { http.deliver("m", &url, "{}".into()).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    // The merchant's one slot is busy: the question waits for it.
    let waiting = Instant::now();
    let asked = std::sync::Mutex::new(None);
    let refused = http
        .deliver_if("m", &rx.url("/refused"), "{}".into(), || {
            *asked.lock().unwrap() = Some(waiting.elapsed());
            false
        })
        .await;
    assert_eq!(refused, None, "nothing sent");
    let asked_after = asked.lock().unwrap().expect("asked");
    assert!(asked_after >= Duration::from_millis(250), "{asked_after:?}");
    assert_eq!(first.await.unwrap().outcome, Outcome::Delivered);

    // The slot is free again, and a yes sends.
    let sent = http
        .deliver_if("m", &rx.url("/sent"), "{}".into(), || true)
        .await
        .expect("sent");
    assert_eq!(sent.outcome, Outcome::Delivered);
    assert!(sent.queued < Duration::from_millis(100), "{sent:?}");
    assert_eq!(
        rx.count(),
        2,
        "the refused attempt never reached the receiver"
    );
}
