// Cross-check of `derivation.json` by other implementations: prints the TRON and Ethereum
// addresses m/44'/195'/0'/0/i and m/44'/60'/0'/0/i (i = 0..4) of the BIP39 test mnemonic and
// its three BIP44 account xpubs, as npm's `tronweb` and `ethers` derive them. generate.py
// holds this output (ORACLE_ADDRESSES, ORACLE_ACCOUNT_XPUBS) and asserts its own stdlib
// derivation agrees. Not part of the test run; to re-run it:
//   d=$(mktemp -d) && cp tests/vectors/oracle-derivation.mjs "$d" && cd "$d" &&
//   npm install tronweb@6.5.1 ethers@6.17.0 && node oracle-derivation.mjs
import { TronWeb } from "tronweb";
import { HDNodeWallet, Mnemonic } from "ethers";
const phrase = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
for (let i = 0; i < 5; i++) {
  const t = TronWeb.fromMnemonic(phrase, `m/44'/195'/0'/0/${i}`);
  const e = HDNodeWallet.fromPhrase(phrase, undefined, `m/44'/60'/0'/0/${i}`);
  console.log(i, t.address, e.address);
}
const m = Mnemonic.fromPhrase(phrase);
for (const coin of [195, 60, 0]) {
  const acct = HDNodeWallet.fromMnemonic(m, `m/44'/${coin}'/0'`);
  console.log(coin, acct.neuter().extendedKey);
}
