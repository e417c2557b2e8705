//! The rules every signed write obeys, table-driven, on SQLite and PostgreSQL:
//! - `roles`: every write RPC signed by every role; objects and keys of other actors;
//! - `auth`: forged or damaged envelopes; expired, revoked and retired keys;
//! - `replay`: resent envelopes, nonces, the clock window and the header;
//! - `malformed`: malformed envelopes and commands;
//! - `state`: writes the registry's current state does not allow.
//!
//! `world` builds the fixture and checks accepted and refused writes; `commands` holds the table
//! of write RPCs with a valid command for each. Every refused write is checked to have changed
//! nothing: the whole catalogue reads the same before and after, and the next accepted write
//! takes the next position in the log.

#[path = "../common/mod.rs"]
mod common;

mod auth;
mod commands;
mod malformed;
mod replay;
mod roles;
mod state;
mod world;
