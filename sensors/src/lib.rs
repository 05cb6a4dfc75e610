//! The sensor vocabulary shared by ingest, store and dashboard: the fixed set of
//! quantities with their units and plausible ranges, the node registry record, the
//! decoded message and the dead-letter record; the [`standards`] the numbers are judged
//! by (EAQI bands, EU and WHO limits, noise periods) and the pure [`indices`] computed
//! from readings (EAQI per hour, noise levels per period and day, exceedances per year).

mod dead_letter;
pub mod indices;
mod message;
mod node;
mod quantity;
pub mod standards;

pub use dead_letter::{DeadLetter, RejectReason};
pub use message::{Message, Reading};
pub use node::{Node, NodeId, NodeIdError, NodeStatus};
pub use quantity::{Quantity, UnknownQuantity};
