//! A real Ethereum node for tests (feature `test-node`): [anvil], started on a free port,
//! with a USDT-like token (`Tether USD`, `USDT`, 6 decimals, the whole supply of 2^127
//! base units minted to anvil's first dev account) deployed, and helpers to transfer,
//! mine, snapshot/revert and reorg. The node is killed when the [`TestNode`] is dropped.
//!
//! Install once with `chains/evm/anvil/setup.sh` (pinned `@foundry-rs/anvil` and `solc`
//! from npm, then solcjs compiles `TetherToken.sol`). Tests call
//! [`TestNode::start_or_skip`]: it fails loudly when the setup is missing, unless
//! `USDT_SKIP_ANVIL=1` is set, which skips them.
//!
//! ```no_run
//! # async fn demo() {
//! use usdt_evm_rpc::testnode::{TestNode, test_address};
//! let Some(node) = TestNode::start_or_skip().await else { return };
//! let alice = test_address(1);
//! let (txid, block) = node.transfer(&alice, 1_000_000).await.unwrap(); // 1 USDT
//! let found = node.rpc().transfers(block, block, &[alice]).await.unwrap();
//! assert_eq!(found[0].txid, txid);
//! # }
//! ```
//!
//! [anvil]: https://book.getfoundry.sh/anvil/

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{EvmRpc, EvmRpcConfig};

/// Set to `1` to skip tests that need anvil (they return early instead of failing).
pub const SKIP_ENV: &str = "USDT_SKIP_ANVIL";

/// Overrides the anvil binary (default: the one `setup.sh` installs).
pub const ANVIL_BIN_ENV: &str = "USDT_ANVIL_BIN";

/// The token's decimals.
pub const TOKEN_DECIMALS: u8 = 6;

/// The token's total supply in base units, all held by the deployer at the start.
pub const TOKEN_SUPPLY: u128 = 1 << 127;

const SETUP_HINT: &str = "run chains/evm/anvil/setup.sh (needs Node 20+ and npm), or set USDT_SKIP_ANVIL=1 to skip the tests that need anvil";

/// Why the node could not be started or driven.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestNodeError {
    /// anvil or the compiled token is missing.
    #[error("{what} not found at {}: {SETUP_HINT}", path.display())]
    NotInstalled {
        /// What is missing.
        what: &'static str,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// anvil did not start or did not answer.
    #[error("cannot start anvil: {0}")]
    Start(String),
    /// A request to anvil failed.
    #[error("anvil {method}: {message}")]
    Rpc {
        /// The JSON-RPC method.
        method: String,
        /// What went wrong.
        message: String,
    },
}

/// Options for [`TestNode::start_with`].
#[derive(Clone, Debug)]
pub struct TestNodeOptions {
    /// The EVM hardfork (`--hardfork`). Default `shanghai`, what the token is compiled
    /// for: later ones add system contracts whose state grows with every block, which
    /// makes anvil's mining slow down as the chain grows (thousands of blocks).
    pub hardfork: String,
    /// `--prune-history`: keep no old states. Mining many blocks is then ~10× faster;
    /// blocks, receipts and logs stay, [`TestNode::snapshot`]/[`TestNode::revert`] still
    /// work, but [`TestNode::reorg`] does not (it needs the old states).
    pub prune_history: bool,
    /// Block gas limit (anvil's default is 30,000,000).
    pub block_gas_limit: Option<u64>,
    /// More anvil arguments.
    pub extra_args: Vec<String>,
}

impl Default for TestNodeOptions {
    fn default() -> Self {
        Self {
            hardfork: "shanghai".into(),
            prune_history: false,
            block_gas_limit: None,
            extra_args: Vec::new(),
        }
    }
}

/// A running anvil with the token deployed. Killed on drop.
#[derive(Debug)]
pub struct TestNode {
    child: Child,
    log_path: PathBuf,
    url: String,
    http: reqwest::Client,
    next_id: AtomicU64,
    accounts: Vec<String>,
    token: String,
    deploy_block: u64,
}

/// A distinct, valid, deterministic address for tests: `0x5afe` + `i` in 36 hex digits.
pub fn test_address(i: u64) -> String {
    format!("0x5afe{i:036x}")
}

/// The directory holding `package.json`, `setup.sh` and the contract.
pub fn anvil_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("anvil")
}

/// The anvil binary: `$USDT_ANVIL_BIN`, else the platform package `setup.sh` installed.
pub fn anvil_binary() -> PathBuf {
    if let Some(path) = std::env::var_os(ANVIL_BIN_ENV) {
        return PathBuf::from(path);
    }
    let (platform, exe) = match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "aarch64") => ("linux-arm64", "anvil"),
        ("macos", "x86_64") => ("darwin-amd64", "anvil"),
        ("macos", "aarch64") => ("darwin-arm64", "anvil"),
        ("windows", _) => ("win32-amd64", "anvil.exe"),
        _ => ("linux-amd64", "anvil"),
    };
    anvil_dir()
        .join("node_modules/@foundry-rs")
        .join(format!("anvil-{platform}"))
        .join("bin")
        .join(exe)
}

/// The compiled token (`setup.sh` writes it): creation bytecode as hex text.
pub fn token_bytecode_path() -> PathBuf {
    anvil_dir().join("build/TetherToken.bin")
}

/// Calldata of `transfer(to, amount)`.
pub fn transfer_calldata(to: &str, amount: u128) -> String {
    format!("0xa9059cbb{}{}", word_address(to), word_u128(amount))
}

/// Calldata of `batchTransfer(address[] to, uint256[] values)`: one `Transfer` event per
/// recipient, in order.
pub fn batch_transfer_calldata(recipients: &[(String, u128)]) -> String {
    let n = recipients.len();
    let mut out = String::with_capacity(10 + 64 * (4 + 2 * n));
    out.push_str("0x88d695b2");
    // Offsets of the two arrays, then each array: length, elements.
    out.push_str(&word_u128(0x40));
    out.push_str(&word_u128(0x40 + 0x20 * (1 + n as u128)));
    out.push_str(&word_u128(n as u128));
    for (to, _) in recipients {
        out.push_str(&word_address(to));
    }
    out.push_str(&word_u128(n as u128));
    for (_, amount) in recipients {
        out.push_str(&word_u128(*amount));
    }
    out
}

fn word_address(address: &str) -> String {
    let digits = address.strip_prefix("0x").unwrap_or(address);
    format!("{:0>64}", digits.to_ascii_lowercase())
}

fn word_u128(n: u128) -> String {
    format!("{n:064x}")
}

fn free_port() -> Result<u16, TestNodeError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| TestNodeError::Start(format!("bind: {e}")))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| TestNodeError::Start(format!("local_addr: {e}")))
}

fn quantity(value: &Value, what: &str) -> Result<u64, TestNodeError> {
    value
        .as_str()
        .ok_or_else(|| rpc_error(what, format!("{value} is not a quantity")))
        .and_then(|s| crate::codec::parse_quantity(s).map_err(|e| rpc_error(what, e)))
}

fn rpc_error(method: &str, message: impl Into<String>) -> TestNodeError {
    TestNodeError::Rpc {
        method: method.to_owned(),
        message: message.into(),
    }
}

enum Ready {
    Yes,
    /// The port was taken (by anvil failing to bind, or by another node answering).
    PortTaken,
}

impl TestNode {
    /// Start anvil with default options and deploy the token.
    pub async fn start() -> Result<Self, TestNodeError> {
        Self::start_with(TestNodeOptions::default()).await
    }

    /// For tests: `None` (with a note on stderr) when `USDT_SKIP_ANVIL=1`, else a started
    /// node.
    ///
    /// # Panics
    ///
    /// When the node cannot be started, e.g. `setup.sh` was not run: tests that need
    /// anvil must fail rather than pass silently.
    pub async fn start_or_skip() -> Option<Self> {
        Self::start_or_skip_with(TestNodeOptions::default()).await
    }

    /// [`TestNode::start_or_skip`] with options.
    ///
    /// # Panics
    ///
    /// As [`TestNode::start_or_skip`].
    #[allow(clippy::panic)]
    pub async fn start_or_skip_with(options: TestNodeOptions) -> Option<Self> {
        if std::env::var(SKIP_ENV).is_ok_and(|v| v == "1") {
            eprintln!("{SKIP_ENV}=1: skipping a test that needs anvil");
            return None;
        }
        match Self::start_with(options).await {
            Ok(node) => Some(node),
            Err(e) => panic!("{e}"),
        }
    }

    /// Start anvil on a free port of 127.0.0.1 and deploy the token from the first dev
    /// account.
    pub async fn start_with(options: TestNodeOptions) -> Result<Self, TestNodeError> {
        let binary = anvil_binary();
        if !binary.is_file() {
            return Err(TestNodeError::NotInstalled {
                what: "anvil",
                path: binary,
            });
        }
        let bytecode_path = token_bytecode_path();
        let bytecode =
            std::fs::read_to_string(&bytecode_path).map_err(|_| TestNodeError::NotInstalled {
                what: "the compiled token (build/TetherToken.bin)",
                path: bytecode_path.clone(),
            })?;
        let bytecode = bytecode.trim();
        if bytecode.is_empty() || !bytecode.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(TestNodeError::Start(format!(
                "{} is not hex bytecode; {SETUP_HINT}",
                bytecode_path.display()
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| TestNodeError::Start(format!("HTTP client: {e}")))?;

        let mut last = String::new();
        for _ in 0..8 {
            let port = free_port()?;
            // A chain id of our own tells our anvil from another node that took the port.
            let chain_id = 1_000_000 + fastrand::u64(..1_000_000);
            let log_path =
                std::env::temp_dir().join(format!("usdt-anvil-{}-{port}.log", std::process::id()));
            let log = std::fs::File::create(&log_path)
                .map_err(|e| TestNodeError::Start(format!("{}: {e}", log_path.display())))?;
            let mut command = Command::new(&binary);
            command
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args([
                    "--chain-id",
                    &chain_id.to_string(),
                    "--accounts",
                    "10",
                    "--silent",
                ]);
            command.args(["--hardfork", &options.hardfork]);
            if options.prune_history {
                command.arg("--prune-history");
            }
            if let Some(gas) = options.block_gas_limit {
                command.args(["--gas-limit", &gas.to_string()]);
            }
            command.args(&options.extra_args);
            let child = command
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .map_err(|e| TestNodeError::Start(format!("{}: {e}", binary.display())))?;
            let mut node = Self {
                child,
                log_path,
                url: format!("http://127.0.0.1:{port}"),
                http: http.clone(),
                next_id: AtomicU64::new(1),
                accounts: Vec::new(),
                token: String::new(),
                deploy_block: 0,
            };
            match node.wait_ready(chain_id).await? {
                Ready::Yes => {
                    node.deploy(bytecode).await?;
                    return Ok(node);
                }
                Ready::PortTaken => last = format!("port {port} was taken"),
            }
        }
        Err(TestNodeError::Start(format!(
            "no free port after 8 tries ({last})"
        )))
    }

    async fn wait_ready(&mut self, chain_id: u64) -> Result<Ready, TestNodeError> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
                if log.contains("in use") || log.contains("AddrInUse") {
                    return Ok(Ready::PortTaken);
                }
                return Err(TestNodeError::Start(format!(
                    "anvil exited with {status}: {}",
                    log.trim()
                )));
            }
            if let Ok(id) = self.call("eth_chainId", json!([])).await {
                return if quantity(&id, "eth_chainId")? == chain_id {
                    Ok(Ready::Yes)
                } else {
                    Ok(Ready::PortTaken)
                };
            }
            if Instant::now() > deadline {
                return Err(TestNodeError::Start(format!(
                    "anvil at {} did not answer within 30 s",
                    self.url
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn deploy(&mut self, bytecode: &str) -> Result<(), TestNodeError> {
        let accounts = self.call("eth_accounts", json!([])).await?;
        self.accounts = accounts
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_ascii_lowercase))
                    .collect()
            })
            .unwrap_or_default();
        let deployer = self
            .accounts
            .first()
            .cloned()
            .ok_or_else(|| rpc_error("eth_accounts", "no unlocked account"))?;
        let txid = self
            .send_transaction(json!({"from": deployer, "data": format!("0x{bytecode}")}))
            .await?;
        let receipt = self.wait_receipt(&txid).await?;
        let address = receipt
            .get("contractAddress")
            .and_then(Value::as_str)
            .ok_or_else(|| rpc_error("eth_getTransactionReceipt", "no contractAddress"))?;
        self.token = address.to_ascii_lowercase();
        self.deploy_block = quantity(
            receipt.get("blockNumber").unwrap_or(&Value::Null),
            "deploy block",
        )?;
        // decimals() must be 6.
        let decimals = self
            .call(
                "eth_call",
                json!([{"to": self.token, "data": "0x313ce567"}, "latest"]),
            )
            .await?;
        if decimals.as_str() != Some(&format!("0x{:064x}", TOKEN_DECIMALS)) {
            return Err(rpc_error("eth_call decimals()", format!("got {decimals}")));
        }
        Ok(())
    }

    /// The node's JSON-RPC URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The token contract, lowercase `0x` hex.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The account that deployed the token and holds its supply (anvil's first dev
    /// account, unlocked).
    pub fn deployer(&self) -> &str {
        self.accounts.first().map_or("", String::as_str)
    }

    /// anvil's unlocked dev accounts (10), lowercase.
    pub fn accounts(&self) -> &[String] {
        &self.accounts
    }

    /// The block holding the token's deployment (and its mint `Transfer` to the deployer).
    pub fn deploy_block(&self) -> u64 {
        self.deploy_block
    }

    /// An [`EvmRpcConfig`] for this node and token (defaults otherwise).
    pub fn rpc_config(&self) -> EvmRpcConfig {
        EvmRpcConfig::new(vec![self.url.clone()], self.token.clone())
    }

    /// An [`EvmRpc`] on this node and token.
    ///
    /// # Panics
    ///
    /// Never: the configuration is built from a valid URL and address.
    #[allow(clippy::panic)]
    pub fn rpc(&self) -> EvmRpc {
        match EvmRpc::new(self.rpc_config()) {
            Ok(rpc) => rpc,
            Err(e) => panic!("test node config: {e}"),
        }
    }

    /// A raw JSON-RPC call; the `result`, or the JSON-RPC error as [`TestNodeError::Rpc`].
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, TestNodeError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let response: Value = self
            .http
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .map_err(|e| rpc_error(method, e.to_string()))?
            .json()
            .await
            .map_err(|e| rpc_error(method, e.to_string()))?;
        Self::result_of(method, response)
    }

    /// Several calls in one JSON-RPC batch; the results in order (fails on the first error).
    pub async fn batch(&self, calls: &[(&str, Value)]) -> Result<Vec<Value>, TestNodeError> {
        if calls.is_empty() {
            return Ok(Vec::new());
        }
        let first = self
            .next_id
            .fetch_add(calls.len() as u64, Ordering::Relaxed);
        let body: Vec<Value> = calls
            .iter()
            .zip(first..)
            .map(|((method, params), id)| json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .collect();
        let response: Value = self
            .http
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .map_err(|e| rpc_error("batch", e.to_string()))?
            .json()
            .await
            .map_err(|e| rpc_error("batch", e.to_string()))?;
        let mut answers = match response {
            Value::Array(answers) => answers,
            other => return Err(rpc_error("batch", format!("not an array: {other}"))),
        };
        answers.sort_by_key(|a| a.get("id").and_then(Value::as_u64).unwrap_or(u64::MAX));
        if answers.len() != calls.len() {
            return Err(rpc_error(
                "batch",
                format!("{} answers to {} calls", answers.len(), calls.len()),
            ));
        }
        answers
            .into_iter()
            .zip(calls)
            .map(|(answer, (method, _))| Self::result_of(method, answer))
            .collect()
    }

    fn result_of(method: &str, mut response: Value) -> Result<Value, TestNodeError> {
        if let Some(error) = response.get("error").filter(|e| !e.is_null()) {
            return Err(rpc_error(method, error.to_string()));
        }
        response
            .get_mut("result")
            .map(Value::take)
            .ok_or_else(|| rpc_error(method, format!("no result in {response}")))
    }

    /// The head block number.
    pub async fn block_number(&self) -> Result<u64, TestNodeError> {
        quantity(
            &self.call("eth_blockNumber", json!([])).await?,
            "eth_blockNumber",
        )
    }

    /// The hash of block `number` (lowercase), if it exists.
    pub async fn block_hash(&self, number: u64) -> Result<Option<String>, TestNodeError> {
        let block = self
            .call(
                "eth_getBlockByNumber",
                json!([format!("{number:#x}"), false]),
            )
            .await?;
        Ok(block
            .get("hash")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase))
    }

    /// `eth_sendTransaction` (unlocked accounts); the transaction hash. With automine on
    /// (the default) the transaction is mined into its own block at once.
    pub async fn send_transaction(&self, tx: Value) -> Result<String, TestNodeError> {
        let txid = self.call("eth_sendTransaction", json!([tx])).await?;
        txid.as_str()
            .map(str::to_ascii_lowercase)
            .ok_or_else(|| rpc_error("eth_sendTransaction", format!("result {txid}")))
    }

    /// The receipt of `txid`, `None` while it is not mined.
    pub async fn receipt(&self, txid: &str) -> Result<Option<Value>, TestNodeError> {
        let receipt = self
            .call("eth_getTransactionReceipt", json!([txid]))
            .await?;
        Ok((!receipt.is_null()).then_some(receipt))
    }

    /// The receipt of a transaction that automine is mining (anvil mines in the
    /// background: the receipt shows up a moment after `eth_sendTransaction` returns).
    async fn wait_receipt(&self, txid: &str) -> Result<Value, TestNodeError> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let receipt = loop {
            if let Some(receipt) = self.receipt(txid).await? {
                break receipt;
            }
            if Instant::now() > deadline {
                return Err(rpc_error(
                    "eth_getTransactionReceipt",
                    format!("{txid} not mined within 10 s (automine off?)"),
                ));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        if receipt.get("status").and_then(Value::as_str) != Some("0x1") {
            return Err(rpc_error(
                "transaction",
                format!("{txid} failed: {receipt}"),
            ));
        }
        Ok(receipt)
    }

    /// Send `amount` base units of the token from the deployer to `to` without waiting
    /// (for automine off: [`TestNode::mine`] later). The transaction hash.
    pub async fn send_transfer(&self, to: &str, amount: u128) -> Result<String, TestNodeError> {
        self.send_transaction(json!({"from": self.deployer(), "to": self.token, "data": transfer_calldata(to, amount)}))
            .await
    }

    /// Transfer `amount` base units of the token from the deployer to `to` and mine it
    /// (automine). Returns (transaction hash, block number).
    pub async fn transfer(&self, to: &str, amount: u128) -> Result<(String, u64), TestNodeError> {
        let txid = self.send_transfer(to, amount).await?;
        let receipt = self.wait_receipt(&txid).await?;
        Ok((
            txid,
            quantity(
                receipt.get("blockNumber").unwrap_or(&Value::Null),
                "blockNumber",
            )?,
        ))
    }

    /// Many transfers from the deployer in one transaction (`batchTransfer`), mined at
    /// once (automine); log indexes follow the order of `recipients`. Returns
    /// (transaction hash, block number). About 30,000 gas per new recipient.
    pub async fn batch_transfer(
        &self,
        recipients: &[(String, u128)],
    ) -> Result<(String, u64), TestNodeError> {
        let txid = self
            .send_transaction(json!({
                "from": self.deployer(),
                "to": self.token,
                "data": batch_transfer_calldata(recipients),
            }))
            .await?;
        let receipt = self.wait_receipt(&txid).await?;
        Ok((
            txid,
            quantity(
                receipt.get("blockNumber").unwrap_or(&Value::Null),
                "blockNumber",
            )?,
        ))
    }

    /// Mine `n` blocks (`anvil_mine`); pending transactions go into the first.
    pub async fn mine(&self, n: u64) -> Result<(), TestNodeError> {
        self.call("anvil_mine", json!([format!("{n:#x}")]))
            .await
            .map(drop)
    }

    /// Turn automine on or off (`evm_setAutomine`).
    pub async fn set_automine(&self, on: bool) -> Result<(), TestNodeError> {
        self.call("evm_setAutomine", json!([on])).await.map(drop)
    }

    /// Snapshot the chain (`evm_snapshot`); the id for [`TestNode::revert`].
    pub async fn snapshot(&self) -> Result<String, TestNodeError> {
        let id = self.call("evm_snapshot", json!([])).await?;
        id.as_str()
            .map(str::to_owned)
            .ok_or_else(|| rpc_error("evm_snapshot", format!("result {id}")))
    }

    /// Revert to a snapshot (`evm_revert`): the blocks after it are gone; mining again
    /// builds different blocks at those heights.
    pub async fn revert(&self, id: &str) -> Result<(), TestNodeError> {
        match self.call("evm_revert", json!([id])).await? {
            Value::Bool(true) => Ok(()),
            other => Err(rpc_error("evm_revert", format!("snapshot {id}: {other}"))),
        }
    }

    /// Replace the last `depth` blocks by `depth` new, empty ones (`anvil_reorg`): same
    /// height, new hashes, the transactions of the old blocks gone.
    pub async fn reorg(&self, depth: u64) -> Result<(), TestNodeError> {
        self.call("anvil_reorg", json!([depth, []])).await.map(drop)
    }

    /// The token balance of `address` in base units.
    pub async fn balance_of(&self, address: &str) -> Result<u128, TestNodeError> {
        let data = format!("0x70a08231{}", word_address(address));
        let result = self
            .call(
                "eth_call",
                json!([{"to": self.token, "data": data}, "latest"]),
            )
            .await?;
        let text = result
            .as_str()
            .ok_or_else(|| rpc_error("balanceOf", format!("result {result}")))?;
        let digits = text
            .strip_prefix("0x")
            .unwrap_or(text)
            .trim_start_matches('0');
        if digits.is_empty() {
            return Ok(0);
        }
        u128::from_str_radix(digits, 16).map_err(|e| rpc_error("balanceOf", format!("{text}: {e}")))
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log_path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calldata() {
        let to = "0x5AFE000000000000000000000000000000000001";
        assert_eq!(
            transfer_calldata(to, 1_000_000),
            "0xa9059cbb0000000000000000000000005afe000000000000000000000000000000000001\
             00000000000000000000000000000000000000000000000000000000000f4240"
        );
        let batch = batch_transfer_calldata(&[(to.to_owned(), 1), (test_address(2), 2)]);
        let words: Vec<&str> = batch.as_bytes()[10..]
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        assert_eq!(words.len(), 8);
        assert_eq!(u64::from_str_radix(words[0], 16).unwrap(), 0x40);
        assert_eq!(u64::from_str_radix(words[1], 16).unwrap(), 0x40 + 3 * 0x20);
        assert_eq!(u64::from_str_radix(words[2], 16).unwrap(), 2);
        assert_eq!(u64::from_str_radix(words[5], 16).unwrap(), 2);
        assert_eq!(u64::from_str_radix(words[7], 16).unwrap(), 2);
        assert_eq!(
            test_address(1),
            "0x5afe000000000000000000000000000000000001"
        );
        assert_eq!(
            TOKEN_SUPPLY,
            170_141_183_460_469_231_731_687_303_715_884_105_728
        );
    }
}
