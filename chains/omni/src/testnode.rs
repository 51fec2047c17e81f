//! An in-process Omni Core double for tests: an HTTP JSON-RPC server that answers the
//! calls [`crate::OmniRpc`] makes as Omni Core 0.11 (Bitcoin Core 0.20.1) does, over a
//! chain the test builds — blocks of Omni transactions of several kinds, and reorgs that
//! replace blocks with new hashes and other transactions.
//!
//! Each answer follows a documented or coded behaviour of the real node:
//!
//! - **Envelope and status codes** — `{"result","error","id"}` without `jsonrpc`; a
//!   JSON-RPC error with HTTP 500, 404 for `-32601 Method not found`, 400 for `-32600`
//!   (Bitcoin Core `src/httprpc.cpp` `JSONErrorReply`, `src/rpc/request.cpp`
//!   `JSONRPCReplyObj`).
//! - **Basic auth** — no or wrong `Authorization`: HTTP 401, empty body,
//!   `WWW-Authenticate: Basic realm="jsonrpc"` (`src/httprpc.cpp` `HTTPReq_JSONRPC`).
//! - **Overload** — HTTP 500 with the plain text `Work queue depth exceeded`
//!   (`src/httpserver.cpp`), on demand ([`OmniDouble::overload_next`]).
//! - **`getblockcount`** — the best height (`src/rpc/blockchain.cpp`).
//! - **`getblockhash <height>`** — the hash, or `-8 Block height out of range`
//!   (`src/rpc/blockchain.cpp`).
//! - **`omni_listblocktransactions <height>`** — the ids of the block's Omni transactions,
//!   valid or not, in block order; `-8 Block height is out of range` beyond the tip
//!   (Omni Core `src/omnicore/doc/rpc-api.md` "omni_listblocktransactions";
//!   `src/omnicore/rpc.cpp`, `RequireHeightInChain` in `src/omnicore/rpcrequirements.cpp`).
//! - **`omni_gettransaction <txid>`** — the documented fields (`rpc-api.md`
//!   "omni_gettransaction") in the order `populateRPCTransactionObject` writes them
//!   (`src/omnicore/rpctxobject.cpp`): `txid`, `fee`, `sendingaddress`, `referenceaddress`
//!   (only for the types `showRefForTx` names: Simple Send, Send All, Grant… — not Send To
//!   Owners), `ismine`, `version`, `type_int`, `type`, the type's own fields (Simple Send
//!   and Grant: `propertyid`, `divisible`, `amount`; a Simple Send to an active crowdsale
//!   is `type` "Crowdsale Purchase" with `type_int` 0; Send All: `ecosystem`, `subsends`),
//!   then `valid`, `invalidreason` (invalid only), `blockhash`, `blocktime`,
//!   `positioninblock`, `block`, `confirmations`. Amounts of divisible properties are
//!   `"%d.%08d"` (`FormatDivisibleMP`, `src/omnicore/omnicore.cpp`), of indivisible ones
//!   plain integers. A malformed txid is `-8 txid must be of length 64 …` (`ParseHashV`,
//!   `src/rpc/util.cpp`); an unknown one `-5 No information available about transaction`
//!   (`PopulateFailure`, `src/omnicore/rpc.cpp`).
//! - **Reorgs** — blocks above a height are replaced by new ones. Bitcoin Core's
//!   transaction index keeps the entry of a disconnected block until the transaction is
//!   mined again (`BaseIndex::Rewind` only moves the best block for the tx index,
//!   `src/index/base.cpp`), so `omni_gettransaction` of a reorged-out transaction still
//!   names its old block. Omni Core's own state rollback is not modelled.
//!
//! Unknown methods get `-32601`; batches are not served (the client never sends them).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as Shared;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use serde_json::{Map, Value, json};

/// What an Omni transaction does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    /// Type 0, "Simple Send": `amount` base units of `property` to the reference address.
    SimpleSend {
        /// The property id (31: USDT).
        property: u32,
        /// Base units.
        amount: u64,
    },
    /// Type 0 answered as "Crowdsale Purchase": a Simple Send to an address with an
    /// active crowdsale accepting `property`.
    CrowdsalePurchase {
        /// The property paid with.
        property: u32,
        /// Base units paid.
        amount: u64,
    },
    /// Type 4, "Send All": every token of the main ecosystem, one sub-send per property.
    SendAll {
        /// `(property, base units)` per sub-send.
        sends: Vec<(u32, u64)>,
    },
    /// Type 3, "Send To Owners": no reference address.
    SendToOwners {
        /// The property.
        property: u32,
        /// Base units.
        amount: u64,
    },
    /// Type 55, "Grant Property Tokens": new tokens of a managed property to the
    /// reference address.
    Grant {
        /// The property.
        property: u32,
        /// Base units.
        amount: u64,
    },
}

/// One Omni transaction as a test describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OmniTx {
    /// `sendingaddress`.
    pub from: String,
    /// `referenceaddress` (not shown for Send To Owners).
    pub to: String,
    /// What it does.
    pub payload: Payload,
    /// `None`: valid; `Some(reason)`: `valid: false` with this `invalidreason`.
    pub invalid_reason: Option<String>,
}

impl OmniTx {
    /// A valid Simple Send of `amount` base units of `property`.
    pub fn simple_send(from: &str, to: &str, property: u32, amount: u64) -> Self {
        Self::new(from, to, Payload::SimpleSend { property, amount })
    }

    /// A valid transaction with `payload`.
    pub fn new(from: &str, to: &str, payload: Payload) -> Self {
        Self {
            from: from.to_owned(),
            to: to.to_owned(),
            payload,
            invalid_reason: None,
        }
    }

    /// The same transaction, invalid for `reason` (e.g. Omni Core's "Sender has
    /// insufficient balance").
    #[must_use]
    pub fn invalid(mut self, reason: &str) -> Self {
        self.invalid_reason = Some(reason.to_owned());
        self
    }
}

/// A block the double mined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MinedBlock {
    /// Its height.
    pub height: u64,
    /// Its hash.
    pub hash: String,
    /// Its Omni transactions' ids, in block order.
    pub txids: Vec<String>,
}

struct Block {
    hash: String,
    txids: Vec<String>,
}

/// The transaction index's entry: the transaction and the block it was last mined in.
struct Indexed {
    tx: OmniTx,
    block_hash: String,
    height: u64,
    position: u64,
    time: u64,
}

/// A reorg waiting for the next `omni_gettransaction`.
enum Armed {
    /// Replace the blocks from this height with these.
    Replace(u64, Vec<Vec<OmniTx>>),
    /// Replace the blocks from this height with one block holding the same transactions
    /// (mined again, as a reorg's transactions usually are).
    Remine(u64),
}

#[derive(Default)]
struct State {
    blocks: Vec<Block>,
    index: HashMap<String, Indexed>,
    counter: u64,
    /// Requests still to answer with "Work queue depth exceeded".
    overloaded: u32,
    /// A reorg to apply when the next `omni_gettransaction` arrives.
    armed: Option<Armed>,
    calls: HashMap<String, u64>,
    refused: u64,
}

impl State {
    /// A fresh 64-hex id (hashes and txids are opaque to the client).
    fn fresh_id(&mut self, salt: u64) -> String {
        self.counter += 1;
        format!(
            "{:016x}{:016x}{:016x}{:016x}",
            salt,
            self.counter,
            fastrand::u64(..),
            fastrand::u64(..)
        )
    }

    fn tip(&self) -> u64 {
        u64::try_from(self.blocks.len())
            .unwrap_or(1)
            .saturating_sub(1)
    }

    fn mine(&mut self, txs: Vec<OmniTx>) -> MinedBlock {
        let height = u64::try_from(self.blocks.len()).unwrap_or(u64::MAX);
        let hash = self.fresh_id(0xb10c);
        let time = 1_700_000_000 + height * 600;
        let mut txids = Vec::with_capacity(txs.len());
        for (i, tx) in txs.into_iter().enumerate() {
            let txid = self.fresh_id(0x7a);
            // The coinbase is at 0 and plain Bitcoin transactions sit between Omni ones.
            let position = 1 + 2 * u64::try_from(i).unwrap_or(0);
            self.index.insert(
                txid.clone(),
                Indexed {
                    tx,
                    block_hash: hash.clone(),
                    height,
                    position,
                    time,
                },
            );
            txids.push(txid);
        }
        self.blocks.push(Block {
            hash: hash.clone(),
            txids: txids.clone(),
        });
        MinedBlock {
            height,
            hash,
            txids,
        }
    }

    fn reorg(&mut self, height: u64, blocks: Vec<Vec<OmniTx>>) -> Vec<MinedBlock> {
        let keep = usize::try_from(height.max(1)).unwrap_or(usize::MAX);
        self.blocks.truncate(keep);
        blocks.into_iter().map(|txs| self.mine(txs)).collect()
    }

    /// Replace the blocks from `height` with one new block holding the same Omni
    /// transactions as the old block at `height`; the index now names the new block.
    fn remine(&mut self, height: u64) {
        let keep = usize::try_from(height.max(1)).unwrap_or(usize::MAX);
        let txids = self
            .blocks
            .get(keep)
            .map(|b| b.txids.clone())
            .unwrap_or_default();
        self.blocks.truncate(keep);
        let txs = txids
            .iter()
            .filter_map(|txid| self.index.get(txid).map(|e| e.tx.clone()))
            .collect();
        let mined = self.mine(txs);
        // Same transactions, same ids: move the index entries to the new ids' old names.
        for (old, new) in txids.iter().zip(&mined.txids) {
            if let Some(entry) = self.index.remove(new) {
                self.index.insert(old.clone(), entry);
            }
        }
        if let Some(block) = self.blocks.last_mut() {
            block.txids = txids;
        }
    }
}

/// The running double. Stops when dropped.
pub struct OmniDouble {
    addr: SocketAddr,
    user: String,
    password: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for OmniDouble {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Server {
    state: Arc<Mutex<State>>,
    authorization: String,
}

impl OmniDouble {
    /// Start on a free loopback port, with the genesis block (height 0) mined, accepting
    /// the RPC credentials `user`/`password` only.
    pub async fn start(user: &str, password: &str) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let mut state = State::default();
        state.mine(Vec::new());
        let state = Arc::new(Mutex::new(state));
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let server = Arc::new(Server {
            state: Arc::clone(&state),
            authorization: format!("Basic {token}"),
        });
        let app = Router::new().route("/", post(handle)).with_state(server);
        let task = tokio::spawn(async move {
            // The double serves until dropped; an accept error ends it (the test sees
            // connection failures).
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            addr,
            user: user.to_owned(),
            password: password.to_owned(),
            state,
            task,
        })
    }

    /// `http://127.0.0.1:<port>` (credentials apart).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://user:password@127.0.0.1:<port>`.
    pub fn url_with_credentials(&self) -> String {
        format!("http://{}:{}@{}", self.user, self.password, self.addr)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Mine one block holding `txs` (in that order) on the tip.
    pub fn mine(&self, txs: Vec<OmniTx>) -> MinedBlock {
        self.lock().mine(txs)
    }

    /// Mine `n` blocks without Omni transactions; the new tip.
    pub fn mine_empty(&self, n: u64) -> u64 {
        let mut state = self.lock();
        for _ in 0..n {
            state.mine(Vec::new());
        }
        state.tip()
    }

    /// Replace every block from `height` (at least 1) up with `blocks`, each with a new
    /// hash and the given transactions.
    pub fn reorg(&self, height: u64, blocks: Vec<Vec<OmniTx>>) -> Vec<MinedBlock> {
        self.lock().reorg(height, blocks)
    }

    /// Make the same reorg as [`OmniDouble::reorg`] happen when the next
    /// `omni_gettransaction` arrives, before it is answered: the chain moves in the
    /// middle of a client's scan.
    pub fn reorg_when_asked(&self, height: u64, blocks: Vec<Vec<OmniTx>>) {
        self.lock().armed = Some(Armed::Replace(height, blocks));
    }

    /// When the next `omni_gettransaction` arrives, before it is answered: replace the
    /// blocks from `height` with one new block (new hash) holding the same transactions,
    /// which then report the new block.
    pub fn remine_when_asked(&self, height: u64) {
        self.lock().armed = Some(Armed::Remine(height));
    }

    /// Answer the next `n` requests with HTTP 500 `Work queue depth exceeded`.
    pub fn overload_next(&self, n: u32) {
        self.lock().overloaded = n;
    }

    /// The best height.
    pub fn head(&self) -> u64 {
        self.lock().tip()
    }

    /// The hash at `height` on the best chain.
    pub fn block_hash(&self, height: u64) -> Option<String> {
        let state = self.lock();
        usize::try_from(height)
            .ok()
            .and_then(|h| state.blocks.get(h))
            .map(|b| b.hash.clone())
    }

    /// Authorised calls of `method` answered so far (errors included).
    pub fn calls(&self, method: &str) -> u64 {
        self.lock().calls.get(method).copied().unwrap_or(0)
    }

    /// Requests refused with HTTP 401.
    pub fn refused(&self) -> u64 {
        self.lock().refused
    }
}

async fn handle(Shared(server): Shared<Arc<Server>>, headers: HeaderMap, body: Bytes) -> Response {
    let authorised = headers
        .get(header::AUTHORIZATION)
        .is_some_and(|v| v.as_bytes() == server.authorization.as_bytes());
    let mut state = server.state.lock().unwrap_or_else(PoisonError::into_inner);
    if !authorised {
        state.refused += 1;
        return (
            StatusCode::UNAUTHORIZED,
            [(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"jsonrpc\""),
            )],
        )
            .into_response();
    }
    if state.overloaded > 0 {
        state.overloaded -= 1;
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Work queue depth exceeded",
        )
            .into_response();
    }
    let request: Value = match serde_json::from_slice(&body) {
        Ok(Value::Object(request)) => Value::Object(request),
        Ok(_) => {
            return answer(
                Value::Null,
                Err((
                    -32600,
                    "Batch requests are not served by this double".into(),
                )),
            );
        }
        Err(_) => return answer(Value::Null, Err((-32700, "Parse error".into()))),
    };
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let method = request
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let params = match request.get("params") {
        Some(Value::Array(params)) => params.clone(),
        _ => Vec::new(),
    };
    *state.calls.entry(method.clone()).or_insert(0) += 1;
    let result = dispatch(&mut state, &method, &params);
    answer(id, result)
}

type RpcResult = Result<Value, (i64, String)>;

fn answer(id: Value, result: RpcResult) -> Response {
    match result {
        Ok(result) => (
            StatusCode::OK,
            axum::Json(json!({"result": result, "error": null, "id": id})),
        )
            .into_response(),
        Err((code, message)) => {
            let status = match code {
                -32600 => StatusCode::BAD_REQUEST,
                -32601 => StatusCode::NOT_FOUND,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            (
                status,
                axum::Json(json!({
                    "result": null,
                    "error": {"code": code, "message": message},
                    "id": id,
                })),
            )
                .into_response()
        }
    }
}

fn dispatch(state: &mut State, method: &str, params: &[Value]) -> RpcResult {
    match method {
        "getblockcount" => Ok(json!(state.tip())),
        "getblockhash" => {
            let height = height_param(params)?;
            block_at(state, height)
                .map(|b| json!(b.hash))
                .ok_or((-8, "Block height out of range".into()))
        }
        "omni_listblocktransactions" => {
            let height = height_param(params)?;
            block_at(state, height)
                .map(|b| json!(b.txids))
                .ok_or((-8, "Block height is out of range".into()))
        }
        "omni_gettransaction" => {
            match state.armed.take() {
                Some(Armed::Replace(height, blocks)) => {
                    state.reorg(height, blocks);
                }
                Some(Armed::Remine(height)) => state.remine(height),
                None => {}
            }
            let txid = params.first().and_then(Value::as_str).unwrap_or_default();
            parse_hash(txid)?;
            let tip = state.tip();
            state
                .index
                .get(txid)
                .map(|entry| transaction_object(txid, entry, tip))
                .ok_or((-5, "No information available about transaction".into()))
        }
        _ => Err((-32601, "Method not found".into())),
    }
}

fn block_at(state: &State, height: i64) -> Option<&Block> {
    usize::try_from(height)
        .ok()
        .and_then(|h| state.blocks.get(h))
}

/// `request.params[0].get_int()`: a non-integer is refused with the text UniValue throws
/// (`RPC_MISC_ERROR`, `CRPCTable::execute`).
fn height_param(params: &[Value]) -> Result<i64, (i64, String)> {
    params
        .first()
        .and_then(Value::as_i64)
        .ok_or((-1, "JSON value is not an integer as expected".into()))
}

/// `ParseHashV(…, "txid")` (`src/rpc/util.cpp`).
fn parse_hash(text: &str) -> Result<(), (i64, String)> {
    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err((
            -8,
            format!("txid must be hexadecimal string (not '{text}')"),
        ));
    }
    if text.len() != 64 {
        return Err((
            -8,
            format!(
                "txid must be of length 64 (not {}, for '{text}')",
                text.len()
            ),
        ));
    }
    Ok(())
}

/// Divisible properties' amounts have 8 decimals. MaidSafeCoin (property 3) is the
/// well-known indivisible one; every other property here is divisible.
fn divisible(property: u32) -> bool {
    property != 3
}

/// `FormatMP`: `"%d.%08d"` for divisible properties, `"%d"` for indivisible ones.
fn format_amount(property: u32, amount: u64) -> String {
    if divisible(property) {
        format!("{}.{:08}", amount / 100_000_000, amount % 100_000_000)
    } else {
        amount.to_string()
    }
}

fn transaction_object(txid: &str, entry: &Indexed, tip: u64) -> Value {
    let tx = &entry.tx;
    let mut o = Map::new();
    o.insert("txid".into(), json!(txid));
    o.insert("fee".into(), json!("0.00010000"));
    o.insert("sendingaddress".into(), json!(tx.from));
    if !matches!(tx.payload, Payload::SendToOwners { .. }) {
        o.insert("referenceaddress".into(), json!(tx.to));
    }
    o.insert("ismine".into(), json!(false));
    o.insert("version".into(), json!(0));
    let send = |o: &mut Map<String, Value>, property: u32, amount: u64| {
        o.insert("propertyid".into(), json!(property));
        o.insert("divisible".into(), json!(divisible(property)));
        o.insert("amount".into(), json!(format_amount(property, amount)));
    };
    match &tx.payload {
        Payload::SimpleSend { property, amount } => {
            o.insert("type_int".into(), json!(0));
            o.insert("type".into(), json!("Simple Send"));
            send(&mut o, *property, *amount);
        }
        Payload::CrowdsalePurchase { property, amount } => {
            o.insert("type_int".into(), json!(0));
            o.insert("type".into(), json!("Crowdsale Purchase"));
            send(&mut o, *property, *amount);
            o.insert("purchasedpropertyid".into(), json!(2_147_483_651u32));
            o.insert("purchasedpropertyname".into(), json!("Crowdsale token"));
            o.insert("purchasedpropertydivisible".into(), json!(true));
            o.insert("purchasedtokens".into(), json!("100.00000000"));
            o.insert("issuertokens".into(), json!("0.00000000"));
        }
        Payload::SendAll { sends } => {
            o.insert("type_int".into(), json!(4));
            o.insert("type".into(), json!("Send All"));
            o.insert("ecosystem".into(), json!("main"));
            let subsends: Vec<Value> = sends
                .iter()
                .map(|(property, amount)| {
                    json!({
                        "propertyid": property,
                        "divisible": divisible(*property),
                        "amount": format_amount(*property, *amount),
                    })
                })
                .collect();
            o.insert("subsends".into(), json!(subsends));
        }
        Payload::SendToOwners { property, amount } => {
            o.insert("type_int".into(), json!(3));
            o.insert("type".into(), json!("Send To Owners"));
            send(&mut o, *property, *amount);
        }
        Payload::Grant { property, amount } => {
            o.insert("type_int".into(), json!(55));
            o.insert("type".into(), json!("Grant Property Tokens"));
            send(&mut o, *property, *amount);
        }
    }
    o.insert("valid".into(), json!(tx.invalid_reason.is_none()));
    if let Some(reason) = &tx.invalid_reason {
        o.insert("invalidreason".into(), json!(reason));
    }
    o.insert("blockhash".into(), json!(entry.block_hash));
    o.insert("blocktime".into(), json!(entry.time));
    o.insert("positioninblock".into(), json!(entry.position));
    o.insert("block".into(), json!(entry.height));
    o.insert(
        "confirmations".into(),
        json!((tip + 1).saturating_sub(entry.height)),
    );
    Value::Object(o)
}
