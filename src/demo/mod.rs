//! The fictional demo dataset of `trust-registry serve --demo`, loaded through the same
//! signed-write path as every other write, with published demo keys.

pub(crate) mod data;
mod load;

pub use data::{DemoSummary, demo_id, demo_signing_key, signing_keys};
pub use load::{demo_operator_key, load};
