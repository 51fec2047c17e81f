// Compiles TetherToken.sol with the pinned solc-js (the `solc` npm package that provides
// solcjs) for the Shanghai EVM, the hardfork the tests run anvil with, and writes
// build/TetherToken.bin (creation bytecode, hex) and build/TetherToken.abi.
"use strict";
const fs = require("fs");
const path = require("path");
const solc = require("solc");

const input = {
  language: "Solidity",
  sources: { "TetherToken.sol": { content: fs.readFileSync(path.join(__dirname, "TetherToken.sol"), "utf8") } },
  settings: {
    evmVersion: "shanghai",
    optimizer: { enabled: true, runs: 200 },
    outputSelection: { "*": { TetherToken: ["abi", "evm.bytecode.object"] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
let failed = false;
for (const e of output.errors || []) {
  console.error(e.formattedMessage || e.message);
  failed ||= e.severity === "error";
}
if (failed) process.exit(1);
const contract = output.contracts["TetherToken.sol"].TetherToken;
const build = path.join(__dirname, "build");
fs.mkdirSync(build, { recursive: true });
fs.writeFileSync(path.join(build, "TetherToken.bin"), contract.evm.bytecode.object);
fs.writeFileSync(path.join(build, "TetherToken.abi"), JSON.stringify(contract.abi));
console.log(`solc ${solc.version()}: build/TetherToken.bin (${contract.evm.bytecode.object.length} hex digits)`);
