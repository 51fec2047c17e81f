//! `usdt-gateway`: the host that runs the USDT Recharge API V2 on the protocol
//! component `usdt:recharge@2.0.0`.

pub mod rules;
