//! The methods of [`Rules`](crate::Rules), one module per interface of the WIT world
//! (`wit/recharge.wit`), each calling that interface's exports on a pooled instance.

mod addresses;
mod amounts;
mod callbacks;
mod confirmations;
mod derivation;
pub(crate) mod gateway;
pub(crate) mod orders;
mod protocol;
mod signing;
mod types;
