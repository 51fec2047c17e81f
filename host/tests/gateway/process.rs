//! The real binary: the no-configuration first run, HTTP/1.1 keep-alive and HTTP/2 on one
//! port, `kill -9` right after acknowledgements, graceful shutdown on SIGTERM.

use std::time::Duration;

use serde_json::Value;
use usdt_gateway::api::{ORDER_PATH, QUERY_PATH};

use crate::support::{
    APPID, Process, SECRET, TestEnv, fresh_address, fresh_orderid, order_body, query_body,
};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn post(
    client: &reqwest::Client,
    url: String,
    body: &Value,
) -> reqwest::Result<(u16, Value)> {
    let response = client.post(url).json(body).send().await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await?))
}

#[tokio::test]
async fn with_no_configuration_it_runs_with_a_printed_demo_merchant() {
    if crate::support::postgres_server().is_some() {
        return; // the no-config run is SQLite by definition; the SQLite pass covers it
    }
    let cwd = tempfile::tempdir().unwrap();
    let process = Process::start(cwd.path(), &["serve", "--listen", "127.0.0.1:0"]);
    let line = process
        .banner
        .iter()
        .find(|l| l.starts_with("dev mode: demo merchant"))
        .expect("the demo merchant is printed");
    let appid = line
        .split("appid=")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_owned();
    let secret = line
        .split("secret=")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_owned();
    let (appid, secret) = (appid.as_str(), secret.as_str());
    assert_eq!(appid, "demo");
    assert!(secret.len() >= 32);
    assert!(
        cwd.path().join("data/gateway.db").exists(),
        "SQLite under ./data"
    );

    let orderid = fresh_orderid();
    let (status, body) = post(
        &client(),
        process.url(ORDER_PATH),
        &order_body(
            appid,
            secret,
            "first-user",
            &fresh_address(),
            &orderid,
            1_000_000,
        ),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], 1);
    drop(process);

    // The secret is kept: a restart accepts the same merchant.
    let again = Process::start(cwd.path(), &["serve", "--listen", "127.0.0.1:0"]);
    assert!(again.banner.iter().any(|l| l.contains(secret)));
    let (status, q) = post(
        &client(),
        again.url(QUERY_PATH),
        &query_body(appid, secret, &orderid),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{q}");
}

#[tokio::test]
async fn http1_keep_alive_and_h2c_share_the_port() {
    let env = TestEnv::new().await;
    let process = Process::start(
        env.dir.path(),
        &["serve", "--config", env.config_path.to_str().unwrap()],
    );
    let h1 = reqwest::Client::builder().http1_only().build().unwrap();
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    for (client, version) in [
        (h1, reqwest::Version::HTTP_11),
        (h2, reqwest::Version::HTTP_2),
    ] {
        for _ in 0..3 {
            let body = order_body(
                APPID,
                SECRET,
                &format!("u-{version:?}"),
                &fresh_address(),
                &fresh_orderid(),
                7,
            );
            let response = client
                .post(process.url(ORDER_PATH))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.version(), version);
            assert_eq!(response.status(), 200);
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["status"], 1);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_right_after_acknowledgements_loses_nothing() {
    let env = TestEnv::new().await;
    let config = env.config_path.to_str().unwrap().to_owned();
    let process = Process::start(env.dir.path(), &["serve", "--config", &config]);
    let url = process.url(ORDER_PATH);
    let client = client();
    let (acked_tx, mut acked_rx) = tokio::sync::mpsc::unbounded_channel();
    // 8 senders, each placing orders as fast as it can, reporting every `status: 1`.
    let mut senders = Vec::new();
    for s in 0..8 {
        let (client, url, acked) = (client.clone(), url.clone(), acked_tx.clone());
        senders.push(tokio::spawn(async move {
            for n in 0.. {
                let orderid = format!("k9-{s}-{n}-{}", uuid::Uuid::new_v4().simple());
                let body = order_body(
                    APPID,
                    SECRET,
                    &format!("k9-user-{s}-{n}"),
                    &fresh_address(),
                    &orderid,
                    10_000 + n,
                );
                match post(&client, url.clone(), &body).await {
                    Ok((200, reply)) if reply["status"] == 1 => {
                        let ordersn = reply["data"]["ordersn"].as_str().unwrap().to_owned();
                        if acked.send((orderid, ordersn)).is_err() {
                            return;
                        }
                    }
                    _ => return, // the process is gone
                }
            }
        }));
    }
    drop(acked_tx);
    // Kill the moment the 300th acknowledgement arrives, with requests in flight.
    let mut acked = Vec::new();
    while let Some(ack) = acked_rx.recv().await {
        acked.push(ack);
        if acked.len() == 300 {
            process.signal("KILL");
            break;
        }
    }
    // Acknowledgements already on the wire count too.
    while let Some(ack) = acked_rx.recv().await {
        acked.push(ack);
    }
    for s in senders {
        let _ = s.await;
    }
    drop(process);
    assert!(acked.len() >= 300);

    let restarted = Process::start(env.dir.path(), &["serve", "--config", &config]);
    let client = reqwest::Client::new();
    for (orderid, ordersn) in &acked {
        let (status, q) = post(
            &client,
            restarted.url(QUERY_PATH),
            &query_body(APPID, SECRET, orderid),
        )
        .await
        .unwrap();
        assert_eq!(
            status, 200,
            "acknowledged order {orderid} lost after kill -9: {q}"
        );
        assert_eq!(q["data"]["ordersn"], ordersn.as_str());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_drains_in_flight_requests() {
    let env = TestEnv::new().await;
    let mut process = Process::start(
        env.dir.path(),
        &["serve", "--config", env.config_path.to_str().unwrap()],
    );
    let client = client();
    let mut in_flight = Vec::new();
    for n in 0..64u64 {
        let (client, url) = (client.clone(), process.url(ORDER_PATH));
        let orderid = fresh_orderid();
        let body = order_body(
            APPID,
            SECRET,
            &format!("term-{n}"),
            &fresh_address(),
            &orderid,
            1 + n,
        );
        in_flight.push(tokio::spawn(async move {
            (orderid, post(&client, url, &body).await)
        }));
    }
    tokio::time::sleep(Duration::from_millis(5)).await;
    process.signal("TERM");
    let mut answered = Vec::new();
    for task in in_flight {
        let (orderid, result) = task.await.unwrap();
        match result {
            // A request the server had accepted is answered in full…
            Ok((status, body)) => {
                assert_eq!(status, 200, "{body}");
                answered.push(orderid);
            }
            // …one that arrived after it stopped accepting is refused at connect.
            Err(e) => assert!(e.is_connect() || e.is_request(), "{e}"),
        }
    }
    let status = process.wait(Duration::from_secs(20));
    assert!(status.success(), "clean exit: {status}");

    let restarted = Process::start(
        env.dir.path(),
        &["serve", "--config", env.config_path.to_str().unwrap()],
    );
    for orderid in &answered {
        let (status, _) = post(
            &client,
            restarted.url(QUERY_PATH),
            &query_body(APPID, SECRET, orderid),
        )
        .await
        .unwrap();
        assert_eq!(status, 200, "{orderid}");
    }
}
